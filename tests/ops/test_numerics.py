"""The ops whose textbook formulas overflow (exp(1000) is inf) stay finite and exact for
logits of +-1000, in float32 and float64, forward and backward, without NumPy even
raising an overflow or invalid-value flag along the way."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

from .op_table import FLOAT_DTYPES

BIG = 1000.0
LOGITS = np.array([[BIG, -BIG, 0.0], [-BIG, -BIG, BIG]])
LABELS = np.array([1, 2])

# (op, function of the Placeholder, input, the exact answer, the exact gradient of sum(out))
EXTREMES = [
    ("sigmoid", sg.sigmoid, [-BIG, 0.0, BIG], [0.0, 0.5, 1.0], [0.0, 0.25, 0.0]),
    ("softplus", sg.softplus, [-BIG, 0.0, BIG], [0.0, np.log(2.0), BIG], [0.0, 0.5, 1.0]),
    ("softmax", sg.softmax, LOGITS, [[1, 0, 0], [0, 0, 1]], np.zeros((2, 3))),
    ("log_softmax", sg.log_softmax, LOGITS, [[0, -2 * BIG, -BIG], [-2 * BIG, -2 * BIG, 0]],
     [[-2, 1, 1], [1, 1, -2]]),
    ("softmax_cross_entropy", lambda z: sg.softmax_cross_entropy(z, sg.Constant(LABELS)),
     LOGITS, BIG, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]]),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("op, fn, value, expected, expected_grad", EXTREMES,
                         ids=[e[0] for e in EXTREMES])
def test_op_is_finite_and_exact_for_logits_of_a_thousand(op, fn, value, expected,
                                                          expected_grad, dtype):
    x = sg.Placeholder(np.shape(value), dtype=dtype, name="x")
    out = fn(x)
    (grad,) = sg.gradients(sg.sum(out), [x])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out_value, grad_value = sg.Session().run([out, grad], {x: np.asarray(value, dtype)})
    assert np.asarray(out_value).dtype == dtype and grad_value.dtype == dtype
    assert np.all(np.isfinite(out_value)) and np.all(np.isfinite(grad_value))
    np.testing.assert_allclose(out_value, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad_value, expected_grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cross_entropy_second_derivative_is_finite_for_logits_of_a_thousand(dtype):
    z = sg.Placeholder((2, 3), dtype=dtype, name="z")
    loss = sg.softmax_cross_entropy(z, sg.Constant(LABELS))
    (g,) = sg.gradients(loss, [z])
    (h,) = sg.gradients(sg.sum(g * g), [z])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = sg.Session().run(h, {z: LOGITS.astype(dtype)})
    assert np.all(np.isfinite(value))


def test_float32_softmax_of_large_logits_sums_to_one_per_row():
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(4, 10)) * 500).astype("float32")
    x = sg.Placeholder((4, 10), name="x")
    value = sg.Session().run(sg.softmax(x), {x: logits})
    np.testing.assert_allclose(value.sum(axis=1), np.ones(4), rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sigmoid_is_as_exact_as_the_formula_that_never_overflows(dtype):
    """sigmoid is 1 / (1 + exp(-x)), 5-20 times faster than exp(-log(1 + exp(-x))) with
    np.logaddexp: it must be as exact, everywhere it is not 0, and warn of nothing."""
    x = np.linspace(-120, 120, 24001).astype(dtype)
    exact = np.exp(-np.logaddexp(0, -x.astype(np.float64)))
    node = sg.Placeholder(x.shape, dtype=dtype, name="x")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = sg.Session().run(sg.sigmoid(node), {node: x})
    normal = exact > np.finfo(dtype).tiny * 4  # (below that, float32 has too few bits left)
    rtol = 16 * np.finfo(dtype).eps  # a few roundings of exp and a division
    np.testing.assert_allclose(got[normal], exact[normal], rtol=rtol)
    assert np.all(got[~normal] < np.finfo(dtype).tiny * 8)


# -- float16 counts: 65,504 is float16's largest number ----------------------------------------
N16 = 70_000  # elements: more than float16 can count


@pytest.mark.parametrize("batch", [N16, None])  # the count known when built, or only at run time
def test_float16_mean_and_its_gradient_over_more_elements_than_float16_can_count(batch):
    """The count became inf in float16: mean's gradient was all zeros, and the mean
    itself, summed into a float16 buffer, inf (found by a bug hunt)."""
    x = sg.Placeholder((batch,), dtype="float16", name="x")
    m = sg.mean(x * x)
    (dx,) = sg.gradients(m, [x])
    xv = np.full(N16, 0.5, dtype="float16")
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess, np.errstate(all="raise"):
            value, grad = sess.run([m, dx], {x: xv})
        assert value.dtype == grad.dtype == np.float16
        assert value == np.float16(0.25)
        np.testing.assert_allclose(grad.astype(np.float64), 2 * 0.5 / N16, rtol=2e-3)


@pytest.mark.parametrize("batch", [N16, None])
def test_float16_cross_entropy_gradients_over_more_positions_than_float16_can_count(batch):
    logits = sg.Placeholder((batch, 2), dtype="float16", name="logits")
    labels = sg.Placeholder((batch,), dtype="int64", name="labels")
    loss = sg.softmax_cross_entropy(logits, labels)
    (g,) = sg.gradients(loss, [logits])
    (gg,) = sg.gradients(sg.sum(g * g), [logits])  # the gradient's own gradient divides too
    feed = {logits: np.zeros((N16, 2), "float16"), labels: np.zeros(N16, "int64")}
    for disable in ((), "all"):  # the fused loss-and-gradient kernels of share_softmax, and not
        with sg.Session(disable=disable) as sess:
            lv, gv, ggv = sess.run([loss, g, gg], feed)
        np.testing.assert_allclose(lv, np.log(2.0), rtol=1e-3)
        np.testing.assert_allclose(gv.astype(np.float64)[0], [-0.5 / N16, 0.5 / N16], rtol=2e-3)
        assert np.count_nonzero(gv) == gv.size
        assert np.isfinite(ggv).all()


@pytest.mark.parametrize("disable", [(), "all"])
def test_sigmoid_and_log_sigmoid_of_small_ints_negate_as_floats(disable):
    """Found by a bug hunt: -x was taken in x's own int dtype, which wraps (uint8 -200
    is 56; int8 -(-128) is -128), so sigmoid(uint8 200) was 0 and sigmoid(int8 -128) 1."""
    u = sg.Placeholder((4,), dtype="uint8", name="u")
    i = sg.Placeholder((2,), dtype="int8", name="i")
    uv, iv = np.array([0, 1, 5, 200], "uint8"), np.array([-128, 0], "int8")
    with sg.Session(disable=disable) as sess:
        su, si, lu = sess.run([sg.sigmoid(u), sg.sigmoid(i), sg.log(sg.sigmoid(u))], {u: uv, i: iv})
    exact = 1 / (1 + np.exp(-uv.astype(np.float64)))
    np.testing.assert_allclose(su, exact, rtol=1e-3)
    np.testing.assert_allclose(si, [0.0, 0.5], atol=1e-3)
    np.testing.assert_allclose(lu, np.log(exact), rtol=2e-3, atol=1e-3)
    assert su.dtype == lu.dtype == np.float16 and si.dtype == np.float16
