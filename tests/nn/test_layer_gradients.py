"""Each layer's gradients, checked against central differences in float64.

Parameters are checked by feeding their Variable a perturbed value (any Node
may be fed, TF1-style), so the layer is tested exactly as a model uses it.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg


@pytest.fixture
def rng():
    """A fresh generator per test, so each test sees the same numbers however it is run."""
    return np.random.default_rng(1234)


EPS = 1e-6


def weighted_sum(y):
    """sum(y * fixed weights): a scalar whose gradient reaches every element of y differently.

    y's shape must be fully known, so the inputs below have a fixed batch size.
    """
    weights = np.random.default_rng(7).uniform(0.5, 1.5, size=y.shape)
    return sg.sum(y * sg.Constant(weights.astype(y.dtype), name="weights"))


def check_gradients_wrt(loss, wrt, feed, rtol=1e-6, atol=1e-8):
    """Compare sg.gradients(loss, wrt) with central differences, feeding each Node perturbed."""
    grads = sg.gradients(loss, wrt)
    with sg.Session() as sess:
        symbolic = sess.run(grads, feed)
        for node, sym in zip(wrt, symbolic):
            base = np.array(feed[node] if node in feed else sess.run(node), dtype=np.float64)
            numeric = np.zeros_like(base)
            for index in np.ndindex(base.shape):
                shifted = base.copy()
                shifted[index] += EPS
                up = sess.run(loss, {**feed, node: shifted})
                shifted[index] -= 2 * EPS
                down = sess.run(loss, {**feed, node: shifted})
                numeric[index] = (up - down) / (2 * EPS)
            np.testing.assert_allclose(sym, numeric, rtol=rtol, atol=atol, err_msg=node.name)


def test_feeding_a_variable_overrides_its_value_for_that_run_only():
    # The finite differences below rely on this; check it once, directly.
    w = sg.Variable(np.ones(3), name="w")
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(w * 2.0, {w: np.full(3, 5.0)}), np.full(3, 10.0))
        np.testing.assert_array_equal(sess.run(w * 2.0), np.full(3, 2.0))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_match_finite_differences(rng, bias):
    lin = sg.nn.Linear(3, 4, bias=bias, dtype="float64", rng=rng)
    x = sg.Placeholder((5, 3), dtype="float64", name="x")
    loss = weighted_sum(lin(x))
    feed = {x: rng.normal(size=(5, 3))}
    if bias:
        feed[lin.bias] = rng.normal(size=4)
    check_gradients_wrt(loss, [*lin.parameters(), x], feed)


def test_linear_maps_every_row_of_a_sequence_batch_as_pytorch_does(rng):
    """(time, batch, features) in, (time, batch, out) out: x @ W + b on every row."""
    lin = sg.nn.Linear(3, 4, dtype="float64", rng=rng)
    x = sg.Placeholder((2, 5, 3), dtype="float64", name="x")
    y = lin(x)
    assert y.shape == (2, 5, 4)
    X = rng.normal(size=(2, 5, 3))
    with sg.Session() as sess:
        W, b = sess.run([lin.weight, lin.bias])
        np.testing.assert_allclose(sess.run(y, {x: X}), np.einsum("tbi,io->tbo", X, W) + b,
                                   rtol=1e-12)
    check_gradients_wrt(weighted_sum(y), [*lin.parameters(), x], {x: X, lin.bias: rng.normal(size=4)})


def test_embedding_gradient_adds_up_over_repeated_ids(rng):
    emb = sg.nn.Embedding(6, 3, dtype="float64", rng=rng)
    ids = sg.Placeholder((3, 2), dtype="int64", name="ids")
    loss = weighted_sum(emb(ids))
    feed = {ids: np.array([[0, 2], [2, 5], [0, 0]])}  # id 0 three times, rows 1, 3, 4 never
    check_gradients_wrt(loss, emb.parameters(), feed)
    grad = sg.gradients(loss, [emb.weight])[0]
    with sg.Session() as sess:
        g = sess.run(grad, feed)
    np.testing.assert_array_equal(g[[1, 3, 4]], 0.0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_gradients_match_finite_differences(rng, nonlinearity):
    cell = sg.nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype="float64", rng=rng)
    x = sg.Placeholder((5, 3), dtype="float64", name="x")
    h = sg.Placeholder((5, 4), dtype="float64", name="h")
    loss = weighted_sum(cell(x, h))
    feed = {
        x: rng.normal(size=(5, 3)),
        h: rng.normal(size=(5, 4)),
        cell.bias_ih: rng.normal(size=4),
        cell.bias_hh: rng.normal(size=4),
    }
    check_gradients_wrt(loss, [*cell.parameters(), x, h], feed)


def test_sequential_mlp_gradients_match_finite_differences(rng):
    net = sg.nn.Sequential(
        sg.nn.Linear(3, 5, dtype="float64", rng=rng),
        sg.nn.Tanh(),
        sg.nn.Linear(5, 4, dtype="float64", rng=rng),
        sg.nn.Sigmoid(),
        sg.nn.Linear(4, 2, dtype="float64", rng=rng),
    )
    x = sg.Placeholder((4, 3), dtype="float64", name="x")
    loss = weighted_sum(net(x))
    feed = {x: rng.normal(size=(4, 3))}
    feed.update({net[i].bias: rng.normal(size=net[i].bias.shape) for i in (0, 2, 4)})
    check_gradients_wrt(loss, [*net.parameters(), x], feed)


@pytest.mark.parametrize("layer", [sg.nn.Sigmoid, sg.nn.Tanh, sg.nn.ReLU])
def test_activation_gradients_match_finite_differences(rng, layer):
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 0.05] = 0.5  # keep away from ReLU's kink at 0
    sg.testing.check_gradients(lambda v: layer()(v), [x])


def test_relu_layer_passes_gradient_only_where_its_input_is_positive():
    x = sg.Placeholder((4,), dtype="float64", name="x")
    (g,) = sg.gradients(sg.sum(sg.nn.ReLU()(x)), [x])
    with sg.Session() as sess:
        np.testing.assert_array_equal(
            sess.run(g, {x: np.array([-2.0, -0.1, 0.1, 3.0])}), [0, 0, 1, 1]
        )


def test_a_sequence_model_of_linear_layers_compiles_to_the_plain_programs_values(rng):
    """Linear on (batch, time, features) through every pass: the optimized Program's loss,
    gradients and two training steps (two batch sizes) equal the plain one's."""
    x = sg.Placeholder((None, 4, 3), dtype="float64", name="x")
    y = sg.Placeholder((None, 4), dtype="int64", name="y")
    first = sg.nn.Linear(3, 6, dtype="float64", rng=1)
    second = sg.nn.Linear(6, 5, dtype="float64", rng=2)
    loss = sg.softmax_cross_entropy(second(sg.tanh(first(x))), y)
    params = [*first.parameters(), *second.parameters()]
    grads = sg.gradients(loss, [*params, x])
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    X, Y = rng.normal(size=(7, 4, 3)), rng.integers(0, 5, (7, 4))
    results = []
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            values = sess.run([loss, *grads], {x: X, y: Y})
            sess.run(train, {x: X, y: Y})
            sess.run(train, {x: X[:3], y: Y[:3]})
            results.append(values + sess.run(params))
    for optimized, plain in zip(*results):
        np.testing.assert_allclose(optimized, plain, rtol=1e-12, atol=1e-14)
