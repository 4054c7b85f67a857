"""share_softmax: a cross-entropy loss and its gradient, fetched together, are computed
from one softmax, unchanged to the last bit; a loss or a gradient alone is left as it was."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from _ir import snapshot
from symgraph.compiler import compile_steps
from symgraph.compiler.passes import share_softmax
from symgraph.errors import RunError


def _model(batch_shape=(400,), classes=5, dtype="float64", seed=0):
    """Logits of batch_shape + (classes,): 2,000 elements by default, big enough to share."""
    rng = np.random.default_rng(seed)
    rows = int(np.prod(batch_shape))
    x = sg.Placeholder((rows, 3), dtype=dtype, name="x")
    y = sg.Placeholder(batch_shape, dtype="int64", name="y")
    w = sg.Variable(rng.normal(size=(3, classes)).astype(dtype), name="w")
    logits = sg.reshape(x @ w * 3.0, batch_shape + (classes,))
    loss = sg.softmax_cross_entropy(logits, y, name="loss")
    feeds = {
        x: rng.normal(size=(rows, 3)).astype(dtype),
        y: rng.integers(0, classes, size=batch_shape),
    }
    return loss, w, feeds


def _step(fetches, feeds):
    program, steps = compile_steps(fetches, feeds)
    (step,) = [s for s in steps if s.name == "share_softmax"]
    return program, step.report


def _ops(program):
    return [inst.op.name for inst in program.instructions]


def test_the_loss_and_its_gradient_share_one_softmax():
    loss, w, feeds = _model()
    (grad,) = sg.gradients(loss, [w])
    program, report = _step([loss, grad], feeds)
    ops = _ops(program)
    assert "softmax_cross_entropy" not in ops and "softmax_cross_entropy_grad" not in ops
    assert ops.count("cross_entropy_from_sums") == 1
    assert ops.count("cross_entropy_grad_from_sums") == 1
    assert ops.count("picked_logits") == 1
    assert {c.rule for c in report.changes if c.kind != "removed"} == {"shared-softmax"}
    replaced = sorted(c.name for c in report.changes if c.kind == "replaced")
    assert len(replaced) == 2 and "loss" in replaced


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_shape", [(400,), (20, 25)])
def test_values_and_gradients_equal_those_without_the_pass(dtype, batch_shape):
    loss, w, feeds = _model(batch_shape, dtype=dtype)
    (grad,) = sg.gradients(loss, [w])
    with sg.Session() as sess:
        shared = [sess.run([loss, grad], feeds) for _ in range(3)]  # runs 1, 2, 3 (generated code)
    with sg.Session(disable=["share_softmax"]) as sess:
        plain_loss, plain_grad = sess.run([loss, grad], feeds)
    for shared_loss, shared_grad in shared:
        # the same operations in the same order: equal to the last bit
        assert shared_loss == plain_loss
        np.testing.assert_array_equal(shared_grad, plain_grad)


def test_the_shared_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    logits = sg.Placeholder((100, 20), dtype="float64", name="logits")
    y = sg.Placeholder((100,), dtype="int64", name="y")
    loss = sg.softmax_cross_entropy(logits, y)
    (grad,) = sg.gradients(loss, [logits])
    base = rng.normal(size=(100, 20))
    labels = rng.integers(0, 20, size=100)
    program, _ = _step([loss, grad], {logits: base, y: labels})
    assert "cross_entropy_grad_from_sums" in _ops(program)
    with sg.Session() as sess:
        _, analytic = sess.run([loss, grad], {logits: base, y: labels})
        eps = 1e-6
        # 40 elements, among them every label's row entry of the first rows
        picked = [(r, labels[r]) for r in range(20)] + [(r, (labels[r] + 1) % 20) for r in range(20)]
        for i in picked:
            numeric = 0.0
            for sign in (1, -1):
                bumped = base.copy()
                bumped[i] += sign * eps
                numeric += sign * sess.run(loss, {logits: bumped, y: labels}) / (2 * eps)
            assert abs(analytic[i] - numeric) <= 1e-8 + 1e-6 * abs(numeric), i


def test_training_steps_are_those_of_the_plain_program():
    loss, w, feeds = _model((400,), seed=1)
    train = sg.optim.SGD(lr=0.5).minimize(loss)
    losses = {}
    for disable in ((), ("share_softmax",)):
        with sg.Session(disable=disable) as sess:  # each Session starts from w's initial value
            losses[disable] = [sess.run([loss, train], feeds)[0] for _ in range(4)]
            losses[disable].append(sess.run(w))
    shared, plain = losses[()], losses[("share_softmax",)]
    np.testing.assert_array_equal(shared[:4], plain[:4])
    np.testing.assert_array_equal(shared[4], plain[4])
    assert shared[3] < shared[0]  # it trains


def test_a_loss_alone_and_a_gradient_alone_are_left_as_they_are():
    loss, w, feeds = _model()
    (grad,) = sg.gradients(loss, [w])
    for fetches, kept in (([loss], "softmax_cross_entropy"), ([grad], "softmax_cross_entropy_grad")):
        program, report = _step(fetches, feeds)
        assert not report.changed
        assert kept in _ops(program)


@pytest.mark.parametrize("batch_shape, classes", [((6,), 5), ((1,), 2), ((128,), 10)])
def test_small_logits_share_their_softmax_too(batch_shape, classes):
    """Fewer NumPy calls in all, however small (see the pass's docstring): shared."""
    loss, w, feeds = _model(batch_shape, classes=classes)
    (grad,) = sg.gradients(loss, [w])
    program, report = _step([loss, grad], feeds)
    assert "shared-softmax" in {c.rule for c in report.changes}
    assert "softmax_cross_entropy_grad" not in _ops(program)
    with sg.Session() as sess, sg.Session(disable=["share_softmax"]) as plain:
        shared_loss, shared_grad = sess.run([loss, grad], feeds)
        plain_loss, plain_grad = plain.run([loss, grad], feeds)
    assert shared_loss == plain_loss
    np.testing.assert_array_equal(shared_grad, plain_grad)


def test_logits_of_unknown_size_share_too():
    x = sg.Placeholder((None, 4), dtype="float64", name="x")
    y = sg.Placeholder((None,), dtype="int64", name="y")
    loss = sg.softmax_cross_entropy(x * 2.0, y)
    (grad,) = sg.gradients(loss, [x])
    _, report = _step([loss, grad], [x, y])
    assert "shared-softmax" in {c.rule for c in report.changes}


def test_other_labels_are_another_loss():
    """A gradient pairs only with the loss of the same logits *and* labels."""
    loss, w, feeds = _model()
    (x, y) = [n for n in feeds]
    y2 = sg.Placeholder(y.shape, dtype="int64", name="y2")
    logits = loss.inputs[0]
    other = sg.softmax_cross_entropy(logits, y2, name="other")
    (grad,) = sg.gradients(loss, [w])
    feeds[y2] = (feeds[y] + 1) % 5
    program, report = _step([other, grad], feeds)
    assert not report.changed
    with sg.Session() as sess:
        got_other, got_grad = sess.run([other, grad], feeds)
    with sg.Session(disable="all") as sess:
        want_other, want_grad = sess.run([other, grad], feeds)
    assert got_other == pytest.approx(want_other, rel=1e-13)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-15)


def test_a_bad_label_is_reported_at_the_users_loss_and_changes_no_variable():
    loss, w, feeds = _model()
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    y = [n for n in feeds if n.name == "y"][0]
    before = w.initial_value.copy()
    feeds[y] = feeds[y].copy()
    feeds[y][2] = 7  # 5 classes
    with sg.Session() as sess:
        with pytest.raises(RunError) as caught:
            sess.run([loss, train], feeds)
        np.testing.assert_array_equal(sess.run(w), before)
    message = str(caught.value)
    assert "label 7 is out of range" in message
    assert "loss" in message and "test_passes_share_softmax.py" in message  # the user's line


def test_the_pass_leaves_its_input_ir_alone():
    loss, w, feeds = _model()
    (grad,) = sg.gradients(loss, [w])
    _, steps = compile_steps([loss, grad], feeds)
    names = [s.name for s in steps]
    before = steps[names.index("share_softmax") - 1].ir
    copy = snapshot(before)
    share_softmax(before)
    assert snapshot(before) == copy


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),
    st.integers(5, 9),
    st.integers(0, 2**16),
    st.floats(0.1, 50.0),
)
def test_any_shape_and_scale_gives_the_plain_loss_and_gradient(dims, classes, seed, scale):
    """Large scales make logits far apart, where an unstable softmax would overflow."""
    rng = np.random.default_rng(seed)
    batch = (400, *dims)  # 400 * classes >= 2,000 elements: the pass fires
    logits = sg.Placeholder(batch + (classes,), dtype="float64", name="logits")
    y = sg.Placeholder(batch, dtype="int64", name="y")
    loss = sg.softmax_cross_entropy(logits * scale, y)
    (grad,) = sg.gradients(loss, [logits])
    feeds = {logits: rng.normal(size=batch + (classes,)), y: rng.integers(0, classes, size=batch)}
    with sg.Session() as sess:
        got = sess.run([loss, grad], feeds)
    with sg.Session(disable=["share_softmax"]) as sess:
        want = sess.run([loss, grad], feeds)
    assert np.isfinite(got[0]) and got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])


def test_the_exponentials_and_the_gradient_are_written_over_the_logits():
    """The labelled logits are picked first, so nothing reads the logits after the
    exponentials: the plan writes them over the logits, and the gradient over them."""
    loss, w, feeds = _model()
    (grad,) = sg.gradients(loss, [w])
    program, _ = _step([loss, grad], feeds)
    made_at = {inst.out: n for n, inst in enumerate(program.instructions)}
    by_op = {inst.op.name: inst for inst in program.instructions}
    exps = by_op["fused"] if "fused" in by_op else by_op["exp"]
    logits = program.instructions[made_at[exps.args[0]]]
    assert made_at[by_op["picked_logits"].out] < made_at[exps.out]
    gradient = by_op["cross_entropy_grad_from_sums"]
    assert (exps.buffer, exps.span) == (logits.buffer, logits.span) == (gradient.buffer, gradient.span)
