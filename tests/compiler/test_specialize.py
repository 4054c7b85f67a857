"""Specialize: the None dims of a compiled graph filled in from the shapes fed, a fed
shape that does not fit reported before anything runs, one Program per set of shapes."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.compiler import compile_steps
from symgraph.compiler.ir import lower
from symgraph.compiler.specialize import specialize
from symgraph.ops.shape import sum_to


def _mlp():
    sg.nn.init.seed(0)
    x = sg.Placeholder((None, 6), dtype="float64", name="x")
    labels = sg.Placeholder((None,), dtype="int64", name="labels")
    model = sg.nn.Sequential(
        sg.nn.Linear(6, 5, dtype="float64"), sg.nn.ReLU(), sg.nn.Linear(5, 3, dtype="float64")
    )
    hidden = sg.reshape(model(x), (-1,))  # a -1 that becomes 3 * batch
    loss = sg.softmax_cross_entropy(model(x), labels) + sg.mean(hidden * hidden)
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    return x, labels, loss, train


def _unknown(ir):
    return sorted(d["name"] for _, d in ir.nodes(data=True) if None in d["shape"])


def test_none_dims_are_filled_from_the_fed_shapes_throughout():
    x, labels, loss, train = _mlp()
    feeds = {x: np.zeros((7, 6)), labels: np.zeros(7, "int64")}
    assert _unknown(lower([loss, train], [x, labels]))  # before: many None dims
    program, steps = compile_steps([loss, train], feeds)
    for step in steps:
        assert _unknown(step.ir) == [], step.name
    assert all(None not in inst.shape for inst in program.instructions)
    flat = next(
        d
        for _, d in steps[0].ir.nodes(data=True)
        if d["op"].name == "reshape" and d["name"].startswith("reshape")
    )
    assert flat["shape"] == (21,)
    # every op that can write into a buffer gets one, now that its shape is known
    assert all(
        inst.buffer is not None
        for inst in program.instructions
        if inst.op.writes_out and inst.op.name != "assign"
    )


def test_shapes_may_be_given_as_tuples():
    x, labels, loss, _ = _mlp()
    program = sg.compile(loss, {x: (4, 6), labels: (4,)})
    assert all(None not in inst.shape for inst in program.instructions)


def test_the_users_graph_keeps_its_none_dims():
    x, labels, loss, train = _mlp()
    compile_steps([loss, train], {x: np.zeros((7, 6)), labels: np.zeros(7, "int64")})
    assert x.shape == (None, 6) and loss.shape == ()
    assert any(None in n.shape for n in sg.get_default_graph().nodes if not n.is_leaf)


def test_shapes_fed_as_declared_change_nothing():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = sg.exp(x)
    ir = lower([y], [x])
    assert specialize(ir, {x: (2, 3)}) is ir
    assert ir.nodes[y.id]["shape"] == (2, 3)


def test_a_sum_to_a_shape_with_a_none_dim_is_specialized_too():
    """The gradient of (None, 1) + (None, 3) w.r.t. the first is a sum_to (None, 1):
    its None dim is x's own, so it is known once x's is."""
    x = sg.Placeholder((None, 1), dtype="float64", name="x")
    y = sg.Placeholder((None, 3), dtype="float64", name="y")
    (gx,) = sg.gradients(sg.sum(sg.tanh(x + y)), [x])
    assert gx.op.name == "sum_to" or any(i.op.name == "sum_to" for i in gx.inputs)
    _, steps = compile_steps([gx], {x: (4, 1), y: (4, 3)})
    assert _unknown(steps[0].ir) == []


def test_sum_to_with_a_none_dim_still_runs_correctly():
    x = sg.Placeholder((None, 1), dtype="float64", name="x")
    y = sg.Placeholder((None, 3), dtype="float64", name="y")
    z = sum_to(y, (None, 1))
    with sg.Session() as sess:
        np.testing.assert_allclose(
            sess.run(z + x, {x: np.zeros((2, 1)), y: np.ones((2, 3))}), [[3.0], [3.0]]
        )


def test_feeds_that_do_not_fit_each_other_are_a_run_error_at_the_users_line():
    a = sg.Placeholder((None, 3), dtype="float64", name="a")
    b = sg.Placeholder((None, 3), dtype="float64", name="b")
    w = sg.Variable(np.ones(3), name="w")
    total = a + b
    line = total.line
    loss = sg.sum(total * w)
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    with sg.Session() as sess:
        with pytest.raises(sg.RunError) as info:
            sess.run([loss, train], {a: np.ones((4, 3)), b: np.ones((5, 3))})
        message = str(info.value)
        assert "cannot broadcast a (4, 3) and b (5, 3)" in message
        assert "with the shapes fed in this run" in message
        assert "node 'add' (add)" in message
        assert f"test_specialize.py:{line}" in message
        assert "no variable was changed" in message
        np.testing.assert_array_equal(sess.run(w), np.ones(3))
        assert len(sess._programs) == 1  # the run of w; the failed compile was not cached
        # the same Session still runs fitting feeds
        sess.run(train, {a: np.ones((4, 3)), b: np.ones((4, 3))})
        np.testing.assert_allclose(sess.run(w), np.ones(3) - 0.1 * 8)


def test_a_session_compiles_once_per_set_of_fed_shapes():
    x, labels, loss, train = _mlp()

    def feed(rows):
        return {x: np.ones((rows, 6)), labels: np.zeros(rows, "int64")}

    with sg.Session() as sess:
        sess.run([loss, train], feed(8))
        sess.run([loss, train], feed(8))
        assert len(sess._programs) == 1
        program = next(iter(sess._programs.values()))
        sess.run([loss, train], feed(3))  # a new batch size: a new Program
        assert len(sess._programs) == 2
        sess.run([loss, train], feed(8))  # and back: the first one again
        assert len(sess._programs) == 2
        assert program in sess._programs.values()
        sess.run(loss, feed(8))  # other fetches: another Program
        assert len(sess._programs) == 3
        shapes = sorted(
            {
                inst.shape
                for p in sess._programs.values()
                for inst in p.instructions
                if inst.name.endswith("matmul") and len(inst.shape) == 2 and inst.shape[1] == 5
            }
        )
        assert shapes == [(3, 5), (8, 5)]


def test_programs_for_different_batch_sizes_give_the_plain_values():
    x, labels, loss, train = _mlp()
    rng = np.random.default_rng(2)
    for rows in (2, 5, 2):
        feed = {x: rng.normal(size=(rows, 6)), labels: rng.integers(0, 3, size=rows)}
        with sg.Session() as a, sg.Session(disable="all") as b:
            np.testing.assert_allclose(a.run(loss, feed), b.run(loss, feed), rtol=1e-12)


@pytest.mark.parametrize("disable", [(), "all"])
def test_a_stacks_none_batch_dim_fed_1_may_not_broadcast(disable):
    """matmul of (None, 3, 4) fed (1, 3, 4) and (None, 4, 5) fed (7, 4, 5) broadcast the
    1, and a's gradient came out (7, 3, 4) for an a of (1, 3, 4), without a word (found
    by a bug hunt): a stack's batch dims are checked as elementwise ops' dims are."""
    a = sg.Placeholder((None, 3, 4), dtype="float64", name="a")
    b = sg.Placeholder((None, 4, 5), dtype="float64", name="b")
    grad_a, _ = sg.gradients(sg.sum(a @ b), [a, b])
    with sg.Session(disable=disable) as sess:
        with pytest.raises(sg.RunError, match="matmul would broadcast dim 0 of a, declared None"):
            sess.run(grad_a, {a: np.ones((1, 3, 4)), b: np.ones((7, 4, 5))})
        assert sess.run(grad_a, {a: np.ones((7, 3, 4)), b: np.ones((7, 4, 5))}).shape == (7, 3, 4)


def test_a_slice_that_assumed_more_rows_than_were_fed_is_a_run_error_at_the_users_line():
    """x[:2] on (None, 3) is (2, 3). Fed 1 row, the forward quietly gave 1 row and the
    gradient failed inside an internal getitem_grad (found by a bug hunt)."""
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    first_two = x[:2]
    loss = sg.sum(first_two * first_two)
    (dx,) = sg.gradients(loss, [x])
    with sg.Session() as sess:
        for fetch in (first_two, dx):
            with pytest.raises(sg.RunError, match=r"built with shape \(2, 3\).* dim 0 would be 1, not 2") as caught:
                sess.run(fetch, {x: np.ones((1, 3))})
            assert "test_specialize.py" in str(caught.value) and "no variable was changed" in str(caught.value)
        np.testing.assert_allclose(sess.run(dx, {x: np.ones((4, 3))}), [[2.0] * 3] * 2 + [[0.0] * 3] * 2)


@pytest.mark.parametrize("disable", [(), "all"])
def test_a_gradient_fetched_alone_still_refuses_a_none_dim_fed_1_that_broadcast(disable):
    """sum(x * c) with x (None, 3) and c (5, 3): its gradient, c, does not read x, so a
    run fetching only the gradient had no op to refuse x fed (1, 3), and answered a
    (5, 3) gradient for a (1, 3) x (found by a bug hunt). The gradient's sum_to now
    reads x's shape, and is checked as the forward op is."""
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    c = sg.Constant(np.arange(15.0).reshape(5, 3), name="c")
    (dx,) = sg.gradients(sg.sum(x * c), [x])
    (dx2,) = sg.gradients(sg.sum((x * c) ** 2), [x])
    (ddx,) = sg.gradients(sg.sum(dx2 * dx2), [x])  # the gradient's own gradient works too
    with sg.Session(disable=disable) as sess:
        with pytest.raises(sg.RunError, match=r"x's dim 0, declared None, was fed size 1, but the op "
                           r"that read x met size 5") as caught:
            sess.run(dx, {x: np.ones((1, 3))})
        assert "test_specialize.py" in str(caught.value) and "no variable was changed" in str(caught.value)
        xv = np.random.default_rng(0).normal(size=(5, 3))
        got, got2, got3 = sess.run([dx, dx2, ddx], {x: xv})
    cv = np.arange(15.0).reshape(5, 3)
    np.testing.assert_allclose(got, cv)
    np.testing.assert_allclose(got2, 2 * xv * cv**2)
    np.testing.assert_allclose(got3, 2 * (2 * cv**2) * (2 * xv * cv**2))
