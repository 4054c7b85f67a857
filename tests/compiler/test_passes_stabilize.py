"""stabilize: log(softmax) -> log_softmax, log(sigmoid) -> -softplus(-x), and the
hand-written cross-entropy -> softmax_cross_entropy; each named in the report."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from _ir import snapshot
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import fuse, stabilize
from symgraph.compiler.rewrite import add_vertex, replace_uses, topological
from symgraph.compiler.schedule import schedule

EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
LABELS = np.array([0, 2])



def changes(report):
    return [(c.kind, c.name, c.rule) for c in report.changes]


def fetched(ir, i=0):
    return ir.nodes[ir.graph["fetches"][i]]


def _ref_log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# -- log(softmax) ----------------------------------------------------------------------------
def test_log_of_softmax_becomes_log_softmax():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = sg.log(sg.softmax(x, axis=0), name="y")
    ir = lower([y], [x])
    before = snapshot(ir)
    new, report = stabilize(ir)
    assert changes(report) == [
        ("added", "y/log_softmax", "log-softmax"),
        ("replaced", "y", "log-softmax"),
        ("removed", "softmax", "replaced by a stable form"),
    ]
    assert report.changes[1].into == "y/log_softmax"
    out = fetched(new)
    assert out["op"].name == "log_softmax" and out["attrs"] == {"axis": 0}
    assert out["inputs"] == [x.id]
    assert (out["shape"], out["dtype"]) == ((2, 3), np.dtype("float64"))
    assert snapshot(ir) == before  # the input IR is untouched


def test_a_softmax_that_is_also_used_elsewhere_stays():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    s = sg.softmax(x, name="s")
    y = sg.log(s, name="y")
    new, report = stabilize(lower([y, s], [x]))
    assert [c.kind for c in report.changes] == ["added", "replaced"]
    assert fetched(new, 1)["op"].name == "softmax"


def test_log_softmax_is_finite_at_extreme_logits_only_with_stabilize():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = sg.log(sg.softmax(x))
    with sg.Session() as sess:
        stable = sess.run(y, {x: EXTREME})
    with sg.Session(disable="stabilize") as sess, np.errstate(divide="ignore"):
        plain = sess.run(y, {x: EXTREME})
    assert np.all(np.isfinite(stable))
    np.testing.assert_allclose(stable, _ref_log_softmax(EXTREME))
    assert np.isneginf(plain).any()


# -- log(sigmoid) ----------------------------------------------------------------------------
def test_log_of_sigmoid_becomes_minus_softplus_of_minus_x():
    x = sg.Placeholder((3,), dtype="float32", name="x")
    y = sg.log(sg.sigmoid(x), name="y")
    ir = lower([y], [x])
    before = snapshot(ir)
    new, report = stabilize(ir)
    assert changes(report) == [
        ("added", "y/neg_x", "log-sigmoid"),
        ("added", "y/softplus", "log-sigmoid"),
        ("added", "y/neg", "log-sigmoid"),
        ("replaced", "y", "log-sigmoid"),
        ("removed", "sigmoid", "replaced by a stable form"),
    ]
    out = fetched(new)
    softplus = new.nodes[out["inputs"][0]]
    minus_x = new.nodes[softplus["inputs"][0]]
    assert [out["op"].name, softplus["op"].name, minus_x["op"].name] == ["neg", "softplus", "neg"]
    assert minus_x["inputs"] == [x.id]
    assert {d["dtype"] for d in (out, softplus, minus_x)} == {np.dtype("float32")}
    assert snapshot(ir) == before


def test_log_sigmoid_is_finite_at_extreme_inputs_only_with_stabilize():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.log(sg.sigmoid(x))
    xv = np.array([-1000.0, 0.0, 1000.0])
    with sg.Session() as sess:
        stable = sess.run(y, {x: xv})
    with sg.Session(disable="stabilize") as sess, np.errstate(divide="ignore"):
        plain = sess.run(y, {x: xv})
    np.testing.assert_allclose(stable, [-1000.0, -np.log(2.0), 0.0])
    assert np.isneginf(plain[0])


def test_log_sigmoid_of_ints_keeps_the_float_dtype_of_the_log():
    """The softplus vertex has the log's dtype (float64), not the int input's:
    with x's dtype its fused kernel got an int64 buffer and the run failed."""
    x = sg.Placeholder((3,), dtype="int64", name="x")
    y = sg.log(sg.sigmoid(x))
    new, _ = stabilize(lower([y], [x]))
    softplus = new.nodes[fetched(new)["inputs"][0]]
    assert softplus["dtype"] == np.dtype("float64")
    xv = np.array([-3, 0, 5])
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: xv}), -np.logaddexp(0, -xv))


@pytest.mark.parametrize("dtype, low", [("float64", -1000.0), ("float32", -120.0)])
def test_the_gradient_of_log_sigmoid_is_finite_and_exact_only_with_stabilize(dtype, low):
    """The value was made stable, its gradient (g/s * s) * (1 - s) was not: where the
    sigmoid underflowed it was 0/0, NaN, beside a finite loss (found by a bug hunt)."""
    x = sg.Placeholder((4,), dtype=dtype, name="x")
    weights = sg.Constant(np.array([1.0, 2.0, 3.0, 4.0], dtype))
    (dx,) = sg.gradients(sg.sum(sg.log(sg.sigmoid(x)) * weights), [x])
    xv = np.array([low, -3.0, 0.0, 40.0], dtype)
    with sg.Session() as sess:
        stable = sess.run(dx, {x: xv})
    with sg.Session(disable="stabilize") as sess, np.errstate(divide="ignore", invalid="ignore"):
        plain = sess.run(dx, {x: xv})
    # d log(sigmoid(x)) / dx = sigmoid(-x), exactly, even where 1 - sigmoid(x) rounds to 0
    expected = np.array([1.0, 2.0, 3.0, 4.0]) / (1.0 + np.exp(np.array([low, -3.0, 0.0, 40.0])))
    np.testing.assert_allclose(stable, expected, rtol=1e-6 if dtype == "float32" else 1e-14)
    assert stable.dtype == np.dtype(dtype)
    assert np.isnan(plain[0])


def test_the_log_sigmoid_gradient_rule_is_named_and_leaves_a_near_miss():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    (dx,) = sg.gradients(sg.sum(sg.log(sg.sigmoid(x))), [x])
    _, report = stabilize(lower([dx], [x]))
    assert "log-sigmoid-grad" in {c.rule for c in report.changes}
    s = sg.sigmoid(x)
    g = sg.Placeholder((3,), dtype="float64", name="g")
    near_miss = (g / s * s) * (2 - s)  # not the gradient of log(sigmoid): 2, not 1
    new, report = stabilize(lower([near_miss], [x, g]))
    assert "log-sigmoid-grad" not in {c.rule for c in report.changes}
    xv, gv = np.array([-2.0, 0.5, 3.0]), np.array([1.0, -2.0, 0.5])
    sv = 1 / (1 + np.exp(-xv))
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(near_miss, {x: xv, g: gv}), gv / sv * sv * (2 - sv))


# -- the hand-written cross-entropy ------------------------------------------------------------
def _hand_written_xent(dtype="float64", one_hot_dtype=None, axis=-1):
    x = sg.Placeholder((2, 3), dtype=dtype, name="logits")
    labels = sg.Placeholder((2,), dtype="int64", name="labels")
    onehot = sg.one_hot(labels, 3, dtype=one_hot_dtype or dtype)
    loss = sg.mean(-sg.sum(onehot * sg.log(sg.softmax(x)), axis=axis), name="loss")
    return x, labels, loss


def test_hand_written_cross_entropy_becomes_softmax_cross_entropy():
    x, labels, loss = _hand_written_xent()
    ir = lower([loss], [x, labels])
    before = snapshot(ir)
    new, report = stabilize(ir)
    rules = [(c.kind, c.name, c.rule) for c in report.changes if c.kind != "removed"]
    assert rules == [
        ("added", "log/log_softmax", "log-softmax"),
        ("replaced", "log", "log-softmax"),
        ("added", "loss/softmax_xent", "softmax-xent"),
        ("replaced", "loss", "softmax-xent"),
    ]
    removed = {c.name for c in report.changes if c.kind == "removed"}
    assert removed == {"softmax", "one_hot", "mul", "sum", "neg", "log/log_softmax"}
    out = fetched(new)
    assert out["op"].name == "softmax_cross_entropy"
    assert out["inputs"] == [x.id, labels.id]
    assert len(new) == 3  # logits, labels, the loss
    assert snapshot(ir) == before


def test_cross_entropy_at_extreme_logits_is_finite_only_with_stabilize():
    x, labels, loss = _hand_written_xent()
    feed = {x: EXTREME, labels: LABELS}
    with sg.Session() as sess:
        stable = sess.run(loss, feed)
    with sg.Session(disable="stabilize") as sess, np.errstate(all="ignore"):
        plain = sess.run(loss, feed)
    expected = -np.mean(_ref_log_softmax(EXTREME)[np.arange(2), LABELS])
    assert np.isfinite(stable)
    np.testing.assert_allclose(stable, expected)
    assert not np.isfinite(plain)  # 0 * -inf = NaN


@pytest.mark.parametrize(
    "variant",
    ["sum over the wrong axis", "float64 one-hot of float32 logits"],
)
def test_near_misses_of_the_cross_entropy_pattern_stay(variant):
    if variant == "sum over the wrong axis":
        x, labels, loss = _hand_written_xent(axis=0)
    else:
        x, labels, loss = _hand_written_xent(dtype="float32", one_hot_dtype="float64")
    new, report = stabilize(lower([loss], [x, labels]))
    assert "softmax-xent" not in {c.rule for c in report.changes}
    assert fetched(new)["op"].name == "mean"
    assert fetched(new)["dtype"] == loss.dtype
    rng = np.random.default_rng(0)
    feed = {x: rng.normal(size=(2, 3)), labels: LABELS}
    with sg.Session() as a, sg.Session(disable="all") as b:
        value = a.run(loss, feed)
        assert value.dtype == loss.dtype
        np.testing.assert_allclose(value, b.run(loss, feed), rtol=1e-6)


@pytest.mark.parametrize("logits_shape, labels_shape", [((4, 5), ()), ((2, 3, 5), (3,))])
def test_labels_that_broadcast_over_the_logits_keep_the_written_out_cross_entropy(
    logits_shape, labels_shape
):
    """one_hot(y) broadcast over the batch is a valid graph, but y does not fit the fused
    op's labels (the logits' shape without the class axis). Found by a bug hunt."""
    rng = np.random.default_rng(0)
    x = sg.Placeholder(logits_shape, dtype="float64", name="x")
    y = sg.Placeholder(labels_shape, dtype="int64", name="y")
    loss = sg.mean(-sg.sum(sg.one_hot(y, 5, dtype="float64") * sg.log_softmax(x), axis=-1))
    (grad,) = sg.gradients(loss, [x])
    new, report = stabilize(lower([loss], [x, y]))
    assert "softmax-xent" not in {c.rule for c in report.changes}
    feed = {x: rng.normal(size=logits_shape), y: rng.integers(0, 5, size=labels_shape)}
    with sg.Session() as a, sg.Session(disable="all") as b:
        for got, want in zip(a.run([loss, grad], feed), b.run([loss, grad], feed)):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_nothing_to_stabilize_reports_no_change():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.log(sg.exp(x))
    new, report = stabilize(lower([y], [x]))
    assert not report.changed and len(new) == 3


def test_a_vertex_standing_in_for_an_added_one_sorts_before_that_ones_consumers():
    """Fusing softplus (added by stabilize) must put the fused vertex before the neg that
    reads it, although both stand in for the same original log."""
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.log(sg.sigmoid(x), name="y")
    ir, _ = stabilize(lower([y], [x]))
    neg = ir.graph["fetches"][0]
    softplus = ir.nodes[neg]["inputs"][0]
    data = ir.nodes[softplus]
    stand_in = add_vertex(
        ir,
        op=data["op"],
        inputs=data["inputs"],
        shape=data["shape"],
        dtype=data["dtype"],
        name="stand_in",
        order=softplus,
    )
    replace_uses(ir, softplus, stand_in)
    ir.remove_node(softplus)
    order = topological(ir)
    assert order.index(stand_in) < order.index(neg)
    # and the whole pipeline's order stays valid: every input is computed before use
    ir, _ = fuse(ir)
    program = schedule(ir)
    written = {slot for slot, _ in program.feeds} | {slot for slot, _ in program.constants}
    for inst in program.instructions:
        assert set(inst.args) <= written
        written.add(inst.out)
