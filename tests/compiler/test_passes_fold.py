"""fold: ops whose inputs are all Constants are computed while compiling, except
random and update ops, and ops whose kernel fails (the run reports those)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import symgraph as sg
from _ir import snapshot
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import fold

fold_module = importlib.import_module("symgraph.compiler.passes.fold")  # the name is the function



def test_an_op_of_constants_becomes_a_constant_holding_its_value():
    a = sg.Constant(np.array([1.0, 2.0]), name="a")
    b = sg.Constant(3.0, name="b")
    x = sg.Placeholder((2,), dtype="float64", name="x")
    ab = sg.mul(a, b, name="ab")
    y = sg.add(x, ab, name="y")
    ir = lower([y], [x])
    before = snapshot(ir)
    new, report = fold(ir)
    assert (report.changes[0].kind, report.changes[0].name, report.changes[0].rule) == (
        "replaced",
        "ab",
        "all inputs constant: computed now",
    )
    assert sorted((c.kind, c.name, c.rule) for c in report.changes[1:]) == [
        ("removed", "a", "only used by folded ops"),
        ("removed", "b", "only used by folded ops"),
    ]
    folded = new.nodes[ab.id]
    assert folded["kind"] == "constant" and folded["inputs"] == []
    np.testing.assert_array_equal(folded["value"], [3.0, 6.0])
    assert not folded["value"].flags.writeable  # no run can change it by accident
    assert sorted(new.nodes) == sorted([x.id, ab.id, y.id])
    assert list(new.predecessors(ab.id)) == []
    assert snapshot(ir) == before


def test_a_whole_chain_of_constants_folds_to_one_value_of_the_promised_dtype():
    a = sg.Constant(np.arange(6, dtype="float32").reshape(2, 3), name="a")
    y = sg.sum(sg.exp(a * 0.5) - 1.0, axis=1, name="y")
    new, report = fold(lower([y]))
    assert list(new.nodes) == [y.id]
    value = new.nodes[y.id]["value"]
    assert value.dtype == np.float32
    np.testing.assert_allclose(
        value, np.sum(np.exp(np.arange(6.0).reshape(2, 3) * 0.5) - 1, 1), rtol=1e-6
    )
    assert sum(c.kind == "replaced" for c in report.changes) == 4  # mul, exp, sub, sum
    with sg.Session() as sess:
        assert sess.run(y).dtype == np.float32


def test_python_numbers_fold_as_numpy_would():
    x = sg.Placeholder((), dtype="int64", name="x")
    six = sg.mul(2, 3, name="six")
    y = x + six
    new, _ = fold(lower([y], [x]))
    assert new.nodes[six.id]["kind"] == "constant"
    assert new.nodes[six.id]["value"] == 6 and new.nodes[six.id]["value"].dtype == np.int64
    with sg.Session() as sess:
        assert sess.run(y, {x: 1}) == 7


def test_random_numbers_are_never_folded():
    c = sg.Constant(np.ones(3), name="c")
    r = sg.random_uniform(c, seed=0, name="r")
    y = r + 1.0
    new, report = fold(lower([y]))
    assert not report.changed
    assert new.nodes[r.id]["kind"] == "op"
    with sg.Session() as sess:
        first, second = sess.run(y), sess.run(y)
    assert not np.array_equal(first, second)  # fresh numbers on every run


def test_variables_and_feeds_are_never_folded():
    w = sg.Variable(np.ones(2), name="w")
    x = sg.Placeholder((2,), dtype="float64", name="x")
    y = sg.exp(w) + sg.exp(x)
    new, report = fold(lower([y], [x]))
    assert not report.changed


def test_updates_are_never_folded():
    w = sg.Variable(np.ones(2), name="w")
    step = sg.assign(w, sg.Constant(np.zeros(2)) + 1.0)  # the new value folds, the assign not
    new, report = fold(lower([step]))
    assert [c.name for c in report.changes if c.kind == "replaced"] == ["add"]
    assert new.nodes[step.id]["kind"] == "op"
    with sg.Session() as sess:
        sess.run(step)
        np.testing.assert_array_equal(sess.run(w), [1.0, 1.0])


def test_a_kernel_error_is_left_for_the_run_to_report_at_the_users_line():
    ids = sg.Constant(np.array([0, 5]), name="ids")
    onehot = sg.one_hot(ids, 3)  # 5 is out of range: the kernel raises
    line = onehot.line
    x = sg.Placeholder((2, 3), dtype="float32", name="x")
    y = x * onehot
    new, report = fold(lower([y], [x]))
    assert not report.changed
    with sg.Session() as sess, pytest.raises(sg.RunError, match="label 5 is out of range") as info:
        sess.run(y, {x: np.ones((2, 3), "float32")})
    assert f"test_passes_fold.py:{line}" in str(info.value)
    assert "one_hot" in str(info.value)


class _WrongShape(sg.Op):
    """Its shape rule says (1,); its kernel (a cumsum by mistake) returns (3,)."""

    name = "test_wrong_shape"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks

    def infer(self, x):
        return (1,), x.dtype

    def forward(self, x):
        return np.cumsum(x)


@pytest.mark.parametrize("disable", [(), "all"])
def test_a_kernel_that_breaks_its_shape_rule_is_left_for_the_run_to_name(disable):
    """Folded, its wrong-shaped value went on: the run gave a (3,) result, or blamed the
    op downstream that tripped over it (found by a bug hunt)."""
    from symgraph.graph import make_node

    wrong = make_node(_WrongShape(), (sg.Constant(np.ones(3)),))
    p = sg.Placeholder((3,), dtype="float64", name="p")
    y = wrong * p
    _, report = fold(lower([y], [p]))
    assert not report.changed
    with sg.Session(disable=disable) as sess, pytest.raises(sg.RunError) as info:
        sess.run(y, {p: np.ones(3)})
    assert "the kernel of test_wrong_shape returned (3,) float64" in str(info.value)
    assert f"test_passes_fold.py:{wrong.line}" in str(info.value)


def test_results_too_big_to_keep_are_left_to_the_run(monkeypatch):
    monkeypatch.setattr(fold_module, "MAX_FOLDED_ELEMENTS", 10)
    small = sg.exp(sg.Constant(np.zeros(10)), name="small")
    big = sg.exp(sg.Constant(np.zeros(11)), name="big")
    new, report = fold(lower([small, big]))
    assert [c.name for c in report.changes if c.kind == "replaced"] == ["small"]
    assert new.nodes[big.id]["kind"] == "op"


def test_division_by_a_zero_constant_folds_to_inf_as_the_run_would():
    y = sg.Constant(np.array([1.0, -1.0])) / 0.0
    new, _ = fold(lower([y]))
    np.testing.assert_array_equal(new.nodes[y.id]["value"], [np.inf, -np.inf])
    with sg.Session(disable="all") as sess, np.errstate(divide="ignore"):
        np.testing.assert_array_equal(sess.run(y), [np.inf, -np.inf])
