"""cse: vertices that compute the same value (same op, attrs, inputs; equal constants)
are merged into the first; random, update, feed and Variable vertices never are."""

from __future__ import annotations

import importlib

import numpy as np

import symgraph as sg
from _ir import snapshot
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import cse

cse_module = importlib.import_module("symgraph.compiler.passes.cse")  # the name is the function



def merged(report):
    return [(c.name, c.into) for c in report.changes if c.kind == "merged"]


def test_duplicate_ops_are_merged_into_the_first():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    a = sg.tanh(x, name="a")
    b = sg.tanh(x, name="b")
    y = sg.add(a, b, name="y")
    ir = lower([y], [x])
    before = snapshot(ir)
    new, report = cse(ir)
    assert [(c.kind, c.name, c.rule, c.into) for c in report.changes] == [
        ("merged", "b", "same op, attrs and inputs", "a")
    ]
    assert new.nodes[y.id]["inputs"] == [a.id, a.id]
    assert b.id not in new
    assert snapshot(ir) == before
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [0.0, 1.0, 2.0]}), 2 * np.tanh([0.0, 1.0, 2.0]))


def test_merging_cascades_through_a_chain():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    first = sg.exp(sg.tanh(x) * 2.0)
    second = sg.exp(sg.tanh(x) * 2.0)
    y = first - second
    new, report = cse(lower([y], [x]))
    assert new.nodes[y.id]["inputs"] == [first.id, first.id]
    # tanh, the weak constant 2.0, mul and exp: each once
    assert [into for _, into in merged(report)] == ["tanh", "Const", "mul", "exp"]
    assert len(new) == 6  # x, tanh, 2.0, mul, exp, y


def test_the_gradient_of_tanh_reuses_the_forward_products():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    t = sg.tanh(x)
    loss = sg.sum(t * t)
    (g,) = sg.gradients(loss, [x])
    new, report = cse(lower([loss, g], [x]))
    assert report.changed
    with sg.Session() as a, sg.Session(disable="all") as b:
        xv = np.array([0.1, -0.5, 2.0])
        np.testing.assert_allclose(a.run(g, {x: xv}), b.run(g, {x: xv}))


def test_equal_constants_are_merged():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    c1 = sg.Constant(np.array([1.0, 2.0, 3.0]), name="c1")
    c2 = sg.Constant(np.array([1.0, 2.0, 3.0]), name="c2")
    y = x * c1 + x * c2
    new, report = cse(lower([y], [x]))
    assert ("c2", "c1") in merged(report)
    assert c2.id not in new


def test_constants_that_differ_in_dtype_shape_or_value_stay_apart():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    parts = [
        sg.Constant(np.array([1.0, 1.0])),
        sg.Constant(np.array([1.0, 1.0], dtype="float32")),
        sg.Constant(np.array([[1.0, 1.0]])),
        sg.Constant(np.array([1.0, 2.0])),
    ]
    y = sg.add(sg.add(x * parts[0], x * parts[1]), sg.sum(x * parts[2], axis=0) + x * parts[3])
    _, report = cse(lower([y], [x]))
    assert not report.changed


def test_zero_and_minus_zero_are_not_merged():
    """1 / 0.0 is inf and 1 / -0.0 is -inf: the two constants differ, though 0.0 == -0.0."""
    x = sg.Placeholder((), dtype="float64", name="x")
    zeros = [
        sg.Constant(np.array(0.0)),
        sg.Constant(np.array(-0.0)),  # arrays
        sg.Constant(0.0),
        sg.Constant(-0.0),
    ]  # Python numbers (weak)
    fetches = [x / z for z in zeros]
    new, report = cse(lower(fetches, [x]))
    assert not report.changed
    assert all(z.id in new for z in zeros)
    with sg.Session() as sess, np.errstate(divide="ignore"):
        got = sess.run(fetches, {x: 1.0})
    assert got == [np.inf, -np.inf, np.inf, -np.inf]


def test_random_numbers_are_never_merged():
    c = sg.Constant(np.ones(4), name="c")
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    r1 = sg.random_uniform(c, rng=rng_a, name="r1")
    r2 = sg.random_uniform(c, rng=rng_b, name="r2")
    # even the same generator object: two draws are two draws
    r3 = sg.random_uniform(c, rng=rng_a, name="r3")
    r4 = sg.random_uniform(c, rng=rng_a, name="r4")
    fetches = [r1 - r2, r3 - r4]
    new, report = cse(lower(fetches))
    assert not [name for name, _ in merged(report) if name.startswith("r")]
    assert {r1.id, r2.id, r3.id, r4.id} <= set(new)
    with sg.Session() as sess:
        _, diff = sess.run(fetches)
    assert np.all(diff != 0)


def test_updates_feeds_and_variables_are_never_merged():
    x1 = sg.Placeholder((2,), dtype="float64", name="x1")
    x2 = sg.Placeholder((2,), dtype="float64", name="x2")
    w1 = sg.Variable(np.zeros(2), name="w1")
    w2 = sg.Variable(np.zeros(2), name="w2")
    s1 = sg.assign(w1, x1 + x2, name="s1")
    s2 = sg.assign(w2, x1 + x2, name="s2")
    step = sg.group(s1, s2)
    ir = lower([step], [x1, x2])
    for key in (x1.id, x2.id, w1.id, w2.id, s1.id, s2.id, step.id):
        assert cse_module._signature(ir, key) is None
    new, report = cse(ir)
    assert merged(report) == [("add_1", "add")]  # the two new values are one value
    with sg.Session() as sess:
        sess.run(step, {x1: [1.0, 2.0], x2: [3.0, 4.0]})
        np.testing.assert_array_equal(sess.run(w1), [4.0, 6.0])
        np.testing.assert_array_equal(sess.run(w2), [4.0, 6.0])


def test_different_attrs_or_argument_order_stay_apart():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = sg.Placeholder((2, 3), dtype="float64", name="y")
    fetches = [sg.sum(x, axis=0), sg.sum(x, axis=1), sg.sum(x, axis=0, keepdims=True), x - y, y - x]
    _, report = cse(lower(fetches, [x, y]))
    assert not report.changed


def test_attrs_equal_in_python_but_of_another_type_stay_apart():
    """clip(x, 0, 1) of an int x is int; clip(x, 0.0, 1.0) is float. 0 == 0.0 in Python,
    so comparing attrs alone merged the two and answered ints for both."""
    x = sg.Placeholder((3,), dtype="int64", name="x")
    ints = sg.clip(x, 0, 1, name="ints")
    floats = sg.clip(x, 0.0, 1.0, name="floats")
    _, report = cse(lower([ints, floats], [x]))
    assert not report.changed
    with sg.Session() as sess:
        a, b = sess.run([ints, floats], {x: [-1, 0, 5]})
    assert a.dtype == np.int64 and b.dtype == np.float64


def test_merged_fetches_answer_every_fetch():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    a, b = sg.exp(x), sg.exp(x)
    new, _ = cse(lower([a, b], [x]))
    assert new.graph["fetches"] == [a.id, a.id]
    with sg.Session() as sess:
        va, vb = sess.run([a, b], {x: [0.0, 1.0]})
    np.testing.assert_array_equal(va, vb)
    va[0] = 99.0  # each answer is its own array
    assert vb[0] == 1.0


def test_ops_with_settings_of_their_own_are_not_merged():
    """Scale(2.0) and Scale(3.0) are one class: cse took them for the same op, and the
    optimized run said 4 where the plain one said 5 (found by a bug hunt). Settings
    belong in attrs, but an op object that keeps its own is allowed (graph._shared)."""
    from symgraph.graph import make_node
    from symgraph.ops.base import REGISTRY

    class ScaleBy(sg.Op):
        elementwise = True

        def __init__(self, k):
            self.k = k

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x * self.k

    try:
        x = sg.Placeholder((3,), dtype="float64", name="x")
        doubled = ScaleBy(2.0)
        y = make_node(ScaleBy(2.0), (x,)) + make_node(ScaleBy(3.0), (x,))
        z = make_node(doubled, (x,)) + make_node(doubled, (x,))  # one object: merged
        for disable in ((), "all"):
            with sg.Session(disable=disable) as sess:
                np.testing.assert_array_equal(sess.run([y, z], {x: np.ones(3)}), [[5.0] * 3, [4.0] * 3])
        assert ScaleBy(2.0) != ScaleBy(2.0) and doubled == doubled and sg.ops.math.Add() == sg.ops.math.Add()
    finally:
        del REGISTRY["scale_by"]
