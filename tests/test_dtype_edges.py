"""Dtype edges a bug hunt found: float16 norms, numbers that do not fit their dtype
(given to assign, as a Placeholder's default, or fed), float16 random numbers, and a
Python-number grad_y through indexing."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg


def test_clip_by_global_norm_of_float16_gradients_sums_their_squares_wider():
    """The squares summed in float16 made a norm of 400 inf, and max_norm / inf scaled
    every gradient to 0: clipping float16 weights stopped training."""
    g = sg.Placeholder((4,), dtype="float16", name="g")
    (clipped,), norm = sg.optim.clip_by_global_norm([g], 1.0)
    w = sg.Variable(np.ones(4, "float16"), name="w")
    train = sg.optim.SGD(lr=0.1).minimize(sg.sum(w * 200.0), clip_norm=1.0)
    with sg.Session() as sess:
        c, n = sess.run([clipped, norm], {g: np.full(4, 200.0, "float16")})
        sess.run(train)
        w_after = sess.run(w)
    assert c.dtype == np.float16 and float(n) == 400.0
    np.testing.assert_allclose(c, [0.5] * 4)
    np.testing.assert_allclose(w_after, [0.95] * 4, rtol=1e-3)


def test_numbers_that_do_not_fit_their_dtype_are_refused_not_wrapped():
    v = sg.Variable(np.zeros((), "int8"), name="v")
    with pytest.raises(sg.ShapeError, match="the number 300 does not fit int8"):
        sg.assign(v, 300)  # it stored 44
    with pytest.raises(sg.ShapeError, match="do not fit in it"):
        sg.Placeholder((), dtype="int8", default=300)  # it ran as 44
    with pytest.raises(sg.ShapeError, match="too large for it"):
        sg.Placeholder((), dtype="float16", default=1e6)  # it ran as inf
    p = sg.Placeholder((2,), dtype="float16", name="p")
    with sg.Session() as sess, pytest.raises(sg.FeedError, match="int32 values given are too large"):
        sess.run(p, {p: np.array([70000, 1], "int32")})  # it gave [inf, 1]


@pytest.mark.parametrize("disable", [(), "all"])
def test_float16_dropout_draws_its_mask(disable):
    """NumPy draws only float32 and float64: every float16 training run failed."""
    x = sg.Placeholder((200,), dtype="float16", name="x")
    y = sg.nn.Dropout(0.5, seed=1)(x)
    with sg.Session(disable=disable) as sess:
        out = sess.run(y, {x: np.ones(200, "float16"), sg.nn.training_flag(): True})
    assert out.dtype == np.float16 and set(np.unique(out)) <= {0.0, 2.0}
    assert 50 < np.count_nonzero(out) < 150


def test_a_python_number_grad_y_through_indexing_takes_the_inputs_dtype():
    x = sg.Placeholder((3,), dtype="float32", name="x")
    (g,) = sg.gradients(x[0], [x], grad_y=2.0)
    assert g.dtype == np.float32
    with sg.Session() as sess:
        got = sess.run(g, {x: np.ones(3, "float32")})
    assert got.dtype == np.float32 and got.tolist() == [2.0, 0.0, 0.0]
