"""simplify: the identities autodiff leaves behind (x * 1, x + 0, ...) go; nothing that
could change a value, a shape, a dtype or a NaN does."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from _ir import snapshot
from symgraph.compiler import compile_steps
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import simplify
from symgraph.ops.shape import sum_to

#: (id, rule, build(x) -> the Node simplify should replace by x); x is float64 (3, 4)
IDENTITIES = [
    ("x*1", "mul-by-one", lambda x: x * 1.0),
    ("1*x", "mul-by-one", lambda x: 1.0 * x),
    ("x*int 1", "mul-by-one", lambda x: x * 1),
    ("x*ones array", "mul-by-one", lambda x: x * sg.Constant(np.ones((3, 4)))),
    ("x*ones_like", "mul-by-one", lambda x: x * sg.ones_like(x)),
    ("ones_like*x", "mul-by-one", lambda x: sg.ones_like(x) * x),
    # (in floats, -0.0 + 0.0 is +0.0: only adding -0.0 leaves every x as it is)
    ("x+-0", "add-zero", lambda x: x + -0.0),
    ("-0+x", "add-zero", lambda x: -0.0 + x),
    ("x+zeros row", "add-zero", lambda x: x + sg.Constant(np.full(4, -0.0))),
    ("x-0", "add-zero", lambda x: x - 0.0),
    ("x/1", "div-by-one", lambda x: x / 1.0),
    ("neg(neg x)", "neg-neg", lambda x: sg.neg(sg.neg(x))),
    ("x.T.T", "transpose-pair", lambda x: x.T.T),
    (
        "transpose by axes twice",
        "transpose-pair",
        lambda x: sg.transpose(sg.transpose(x, (1, 0)), (1, 0)),
    ),
    ("reshape to own shape", "same-shape", lambda x: sg.reshape(x, (3, 4))),
    ("reshape -1 to own shape", "same-shape", lambda x: sg.reshape(x, (-1, 4))),
    ("sum_to own shape", "same-shape", lambda x: sum_to(x, (3, 4))),
    ("broadcast_to own shape", "same-shape", lambda x: sg.broadcast_to(x, (3, 4))),
    ("squeeze without size-1 dims", "same-shape", lambda x: sg.squeeze(x)),
    ("cast to own dtype", "same-dtype", lambda x: sg.cast(x, "float64")),
]


@pytest.mark.parametrize("rule, build", [c[1:] for c in IDENTITIES], ids=[c[0] for c in IDENTITIES])
def test_identity_is_replaced_by_its_input(rule, build):
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    identity = build(x)
    y = sg.tanh(identity, name="y")  # a consumer, so the rewiring is visible
    ir = lower([y], [x])
    before = snapshot(ir)
    new, report = simplify(ir)
    replaced = [c for c in report.changes if c.kind == "replaced"]
    assert [(c.name, c.rule, c.into) for c in replaced] == [(identity.name, rule, "x")]
    assert new.nodes[y.id]["inputs"] == [x.id]
    assert identity.id not in new
    assert set(new.nodes) <= set(ir.nodes)
    assert snapshot(ir) == before  # the input IR is untouched
    xv = np.random.default_rng(0).normal(size=(3, 4))
    with sg.Session() as a, sg.Session(disable="all") as b:
        np.testing.assert_array_equal(a.run(y, {x: xv}), b.run(y, {x: xv}))


def test_transpose_pair_with_axes_that_undo_each_other():
    x = sg.Placeholder((2, 3, 4), dtype="float64", name="x")
    there = sg.transpose(x, (1, 2, 0))  # (3, 4, 2)
    back = sg.transpose(there, (2, 0, 1), name="back")  # (2, 3, 4): undoes it
    y = sg.exp(back)
    new, report = simplify(lower([y], [x]))
    assert [(c.name, c.rule) for c in report.changes if c.kind == "replaced"] == [
        ("back", "transpose-pair")
    ]
    assert new.nodes[y.id]["inputs"] == [x.id]


def test_a_chain_of_identities_goes_in_one_sweep():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.exp(sg.neg(sg.neg(x * 1.0)) - 0.0, name="y")
    new, report = simplify(lower([y], [x]))
    assert new.nodes[y.id]["inputs"] == [x.id]
    assert sorted(new.nodes) == sorted([x.id, y.id])
    rules = [c.rule for c in report.changes if c.kind == "replaced"]
    assert rules == ["mul-by-one", "neg-neg", "add-zero"]


def test_a_fetched_identity_is_answered_by_its_input():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = x * 1.0
    new, report = simplify(lower([y], [x]))
    assert new.graph["fetches"] == [x.id]
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0, 3.0]}), [1.0, 2.0, 3.0])


#: (id, build(x) -> a Node that must stay), with x of the shape and dtype given
KEPT = [
    ("x*0 (Inf*0 is NaN)", (3,), "float64", lambda x: x * 0.0),
    ("x+0.0 (-0.0+0.0 is +0.0)", (3,), "float64", lambda x: x + 0.0),
    ("0+x (-0.0+0 is +0.0)", (3,), "float32", lambda x: 0 + x),
    ("x-(-0.0)", (3,), "float64", lambda x: x - (-0.0)),
    ("x+zeros that broadcast x", (4,), "float64", lambda x: x + sg.Constant(np.zeros((3, 4)))),
    ("x*1 of ints to float", (3,), "int64", lambda x: x * 1.0),
    ("x*ones_like of another dtype", (3,), "int64", lambda x: x * sg.ones_like(x, dtype="float32")),
    ("x*2", (3,), "float64", lambda x: x * 2.0),
    ("1/x", (3,), "float64", lambda x: 1.0 / x),
    ("0-x", (3,), "float64", lambda x: 0.0 - x),
    ("one neg", (3,), "float64", lambda x: -x),
    (
        "transposes that do not undo",
        (2, 3, 4),
        "float64",
        lambda x: sg.transpose(sg.transpose(x, (1, 2, 0)), (1, 2, 0)),
    ),
    ("reshape to another shape", (3, 4), "float64", lambda x: sg.reshape(x, (4, 3))),
    ("broadcast_to a bigger shape", (4,), "float64", lambda x: sg.broadcast_to(x, (3, 4))),
    ("cast to another dtype", (3,), "float64", lambda x: sg.cast(x, "float32")),
]


@pytest.mark.parametrize("shape, dtype, build", [c[1:] for c in KEPT], ids=[c[0] for c in KEPT])
def test_look_alikes_that_change_something_stay(shape, dtype, build):
    x = sg.Placeholder(shape, dtype=dtype, name="x")
    kept = build(x)
    new, report = simplify(lower([kept], [x]))
    assert not report.changed
    assert new.graph["fetches"] == [kept.id]


def test_x_times_zero_keeps_inf_and_nan_behaviour():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = x * 0.0
    with sg.Session() as sess, np.errstate(invalid="ignore"):
        value = sess.run(y, {x: [np.inf, 1.0, np.nan]})
    assert np.isnan(value[0]) and value[1] == 0.0 and np.isnan(value[2])


def test_reshape_with_a_none_dim_is_not_assumed_to_be_the_same_shape():
    """reshape can change a None dim's size (it takes -1), so it stays; sum_to cannot."""
    x = sg.Placeholder((None, 4), dtype="float64", name="x")
    r = sg.reshape(x, (-1, 4))
    s = sum_to(x, (None, 4))
    new, report = simplify(lower([r, s], [x]))
    replaced = {c.name: c.rule for c in report.changes if c.kind == "replaced"}
    assert replaced == {s.name: "same-shape"}
    assert new.graph["fetches"] == [r.id, x.id]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_python_number_never_stands_in_for_an_array(dtype):
    """A weak constant (0.7) runs as a Python number; `1.0 * 0.7` made a 0-d array,
    which the gradient of x[1] indexes into. Found by a randomized check."""
    x = sg.Placeholder((4,), dtype=dtype, name="x")
    (g,) = sg.gradients(x[1] * 0.7, [x])
    _, steps = compile_steps([g], {x: np.zeros(4, dtype=dtype)})
    (report,) = [s.report for s in steps if s.name == "simplify"]
    # its one candidate, gradients/mul_grad/mul = 1.0 * 0.7, is left to fold
    assert not [c for c in report.changes if c.kind == "replaced"], report.changes
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            got = sess.run(g, {x: np.arange(4, dtype=dtype)})
        np.testing.assert_allclose(got, [0.0, 0.7, 0.0, 0.0], rtol=1e-6)
        assert got.dtype == np.dtype(dtype)


def test_indexing_a_python_number_works_in_every_session():
    """The kernels of getitem and its gradient take a weak constant (a Python number) too."""
    y = sg.Placeholder((3,), dtype="float64", name="y")
    c = sg.Constant(0.7)
    fetches = [c[None] + y, (c * 1.0)[None] + y, (c + 0.0)[None] + y, sg.neg(sg.neg(c))[None] + y]
    for disable in ((), "all", "simplify"):
        with sg.Session(disable=disable) as sess:
            for got in sess.run(fetches, {y: np.zeros(3)}):
                np.testing.assert_array_equal(got, [0.7, 0.7, 0.7])


@pytest.mark.parametrize("batch", [(3,), (None,)])
def test_the_ones_a_sums_gradient_starts_from_multiply_nothing(batch):
    """d sum(x * w) / dw = sum_to(broadcast_to(reshape(1.0)) * x): the ones are seen through
    the reshape and the broadcast, and the product is x itself."""
    x = sg.Placeholder(batch + (4,), dtype="float64", name="x")
    w = sg.Variable(np.arange(4.0), name="w")
    loss = sg.sum(x * w, name="loss")
    (g,) = sg.gradients(loss, [w])
    feeds = {x: np.arange(12.0).reshape(3, 4)}
    _, steps = compile_steps([g], feeds)
    (report,) = [s.report for s in steps if s.name == "simplify"]
    assert [c.rule for c in report.changes if c.kind == "replaced"] == ["mul-by-one"]
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(g, feeds), np.arange(12.0).reshape(3, 4).sum(axis=0))
    # ones broadcast to more than x's shape still broadcast x: kept
    y = sg.Placeholder((4,), dtype="float64", name="y")
    ones = sg.broadcast_to(sg.reshape(sg.Constant(1.0), (1,)), (3, 4))
    wide = ones * y
    _, steps = compile_steps([wide], {y: np.arange(4.0)})
    (report,) = [s.report for s in steps if s.name == "simplify"]
    assert not report.changes
    with sg.Session() as sess:
        assert sess.run(wide, {y: np.arange(4.0)}).shape == (3, 4)


def test_adding_zero_to_ints_goes_and_the_sign_of_a_float_zero_is_kept():
    """A bug hunt's fuzzer: 1 / (x + 0.0) at x = -0.0 gave -inf, optimized, +inf in NumPy."""
    i = sg.Placeholder((3,), dtype="int64", name="i")
    new, report = simplify(lower([sg.exp(i + 0)], [i]))
    assert [c.rule for c in report.changes if c.kind == "replaced"] == ["add-zero"]
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = 1.0 / (x + 0.0)
    with sg.Session() as sess, np.errstate(divide="ignore"):
        np.testing.assert_array_equal(sess.run(y, {x: [-0.0, 0.0, 2.0]}), [np.inf, np.inf, 0.5])
