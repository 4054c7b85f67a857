"""unroll: shared Variables, step scopes, the default h0, and BPTT against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.autodiff import ancestors


def _inputs(T, size=3, batch=None, dtype="float32"):
    return [sg.Placeholder((batch, size), dtype=dtype, name=f"x{t}") for t in range(T)]


# -- structure ----------------------------------------------------------------------------
def test_unrolls_of_every_length_share_the_cells_four_variables():
    cell = sg.nn.RNNCell(3, 4)
    graph = sg.get_default_graph()
    params = cell.parameters()
    for T in range(1, 6):
        outputs, h = sg.nn.unroll(cell, _inputs(T))
        assert graph.variables == params  # unrolling made no new Variable
        assert cell.parameters() == params
        used = [n for n in ancestors([h]) if isinstance(n, sg.Variable)]
        assert used == params, T


def test_each_step_reads_the_same_weights():
    cell = sg.nn.RNNCell(2, 3)
    outputs, _ = sg.nn.unroll(cell, _inputs(4, size=2))
    for t, out in enumerate(outputs):
        mine = [n for n in ancestors([out]) if f"step_{t}/" in n.name]
        read = {i for n in mine for i in n.inputs if isinstance(i, sg.Variable)}
        assert read == set(cell.parameters()), t


def test_unroll_returns_one_output_per_step_and_the_last_state():
    cell = sg.nn.RNNCell(3, 4)
    for T in (1, 2, 5):
        outputs, h = sg.nn.unroll(cell, _inputs(T))
        assert isinstance(outputs, list) and len(outputs) == T
        assert outputs[-1] is h
        assert all(o.shape == (None, 4) for o in outputs)


def test_each_step_is_built_in_its_own_scope():
    cell = sg.nn.RNNCell(3, 4)
    xs = _inputs(3)
    graph = sg.get_default_graph()
    start = len(graph.nodes)
    outputs, _ = sg.nn.unroll(cell, xs)
    built = graph.nodes[start:]
    for t, out in enumerate(outputs):
        assert out.name.startswith(f"rnn/step_{t}/"), out.name
    step_nodes = [n for n in built if not n.name.startswith("rnn/init/")]
    assert all(n.name.startswith("rnn/step_") for n in step_nodes), [n.name for n in step_nodes]
    for t in range(3):
        ops = sorted(n.op.name for n in step_nodes if n.name.startswith(f"rnn/step_{t}/"))
        assert ops == ["add", "add", "add", "matmul", "matmul", "tanh"], (t, ops)


def test_unroll_with_no_inputs_or_mismatched_inputs_is_a_shape_error():
    cell = sg.nn.RNNCell(3, 4)
    with pytest.raises(sg.ShapeError, match="at least one input"):
        sg.nn.unroll(cell, [])
    xs = [sg.Placeholder((2, 3), name="a"), sg.Placeholder((5, 3), name="b")]
    with pytest.raises(sg.ShapeError, match="input 1"):
        sg.nn.unroll(cell, xs)


def test_default_h0_is_zeros_with_the_batch_size_of_each_run():
    cell = sg.nn.RNNCell(3, 4, dtype="float64")
    xs = _inputs(2, dtype="float64")
    outputs, h = sg.nn.unroll(cell, xs)
    W_ih = cell.weight_ih.initial_value
    with sg.Session() as sess:
        for batch in (3, 5):
            x0 = np.random.default_rng(batch).normal(size=(batch, 3))
            first, last = sess.run([outputs[0], h], {xs[0]: x0, xs[1]: x0})
            assert first.shape == last.shape == (batch, 4)
            np.testing.assert_allclose(first, np.tanh(x0 @ W_ih), rtol=1e-12)  # h0 = 0


def test_a_given_h0_is_used_instead_of_zeros():
    cell = sg.nn.RNNCell(2, 3, dtype="float64")
    xs = _inputs(1, size=2, dtype="float64")
    h0 = sg.Placeholder((None, 3), dtype="float64", name="h0")
    _, h = sg.nn.unroll(cell, xs, h0=h0)
    x, hv = np.ones((2, 2)), np.full((2, 3), 0.5)
    want = np.tanh(x @ cell.weight_ih.initial_value + hv @ cell.weight_hh.initial_value)
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(h, {xs[0]: x, h0: hv}), want, rtol=1e-12)


def test_a_long_unroll_builds_and_differentiates_without_recursion():
    # 300 steps chain 1,200 forward Nodes (4 a step), past Python's recursion limit of 1,000
    cell = sg.nn.RNNCell(1, 2)
    x = sg.Placeholder((1, 1), name="x")
    _, h = sg.nn.unroll(cell, [x] * 300)
    grads = sg.gradients(sg.sum(h), cell.parameters())
    with sg.Session() as sess:
        values = sess.run(grads, {x: np.ones((1, 1), "float32")})
    assert all(np.all(np.isfinite(v)) for v in values)


# -- BPTT against NumPy -------------------------------------------------------------------
def numpy_rnn(xs, h0, W_ih, W_hh, b_ih, b_hh, weights, nonlinearity):
    """Forward and backward of loss = sum_t sum(h_t * weights[t]), written out by hand."""
    act = np.tanh if nonlinearity == "tanh" else (lambda a: np.maximum(a, 0.0))
    hs, pre = [h0], []
    for x in xs:
        a = x @ W_ih + b_ih + hs[-1] @ W_hh + b_hh
        pre.append(a)
        hs.append(act(a))
    loss = sum(np.sum(h * w) for h, w in zip(hs[1:], weights))

    grads = {
        k: np.zeros_like(v) for k, v in dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh).items()
    }
    dxs = [None] * len(xs)
    dh = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        dh = dh + weights[t]  # the loss reads h_{t+1} directly ...
        if nonlinearity == "tanh":
            da = dh * (1.0 - hs[t + 1] ** 2)
        else:
            da = dh * (pre[t] > 0)
        grads["W_ih"] += xs[t].T @ da
        grads["W_hh"] += hs[t].T @ da
        grads["b_ih"] += da.sum(axis=0)
        grads["b_hh"] += da.sum(axis=0)
        dxs[t] = da @ W_ih.T
        dh = da @ W_hh.T  # ... and through the next step
    return hs[1:], loss, grads, dxs, dh


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("default_h0", [True, False])
def test_rnn_forward_and_gradients_match_numpy_bptt(nonlinearity, default_h0):
    T, batch, n_in, n_hidden = 5, 3, 2, 4
    rng = np.random.default_rng(42)
    cell = sg.nn.RNNCell(n_in, n_hidden, nonlinearity=nonlinearity, dtype="float64", rng=rng)
    xs = _inputs(T, size=n_in, dtype="float64")
    h0 = None if default_h0 else sg.Placeholder((None, n_hidden), dtype="float64", name="h0")
    outputs, h_last = sg.nn.unroll(cell, xs, h0=h0)
    weights = rng.normal(size=(T, batch, n_hidden))
    loss = sum(sg.sum(o * sg.Constant(w)) for o, w in zip(outputs, weights))

    params = dict(W_ih=cell.weight_ih, W_hh=cell.weight_hh, b_ih=cell.bias_ih, b_hh=cell.bias_hh)
    values = dict(
        W_ih=rng.normal(size=(n_in, n_hidden)),
        W_hh=0.5 * rng.normal(size=(n_hidden, n_hidden)),
        b_ih=rng.normal(size=n_hidden),
        b_hh=rng.normal(size=n_hidden),
    )
    x_values = [rng.normal(size=(batch, n_in)) for _ in range(T)]
    h0_value = np.zeros((batch, n_hidden)) if default_h0 else rng.normal(size=(batch, n_hidden))
    feed = {params[k]: values[k] for k in params}  # feed the Variables: biases not zero
    feed.update(zip(xs, x_values))
    if not default_h0:
        feed[h0] = h0_value

    wrt = list(params.values()) + xs + ([] if default_h0 else [h0])
    grads = sg.gradients(loss, wrt)
    with sg.Session() as sess:
        got = sess.run([*outputs, loss, *grads], feed)
    got_outputs, got_loss, got_grads = got[:T], got[T], got[T + 1 :]

    want_hs, want_loss, want_grads, want_dxs, want_dh0 = numpy_rnn(
        x_values, h0_value, *values.values(), weights, nonlinearity
    )
    for t in range(T):
        np.testing.assert_allclose(got_outputs[t], want_hs[t], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-12)
    for k, g in zip(params, got_grads):
        np.testing.assert_allclose(g, want_grads[k], rtol=1e-10, atol=1e-12, err_msg=k)
    for t in range(T):
        np.testing.assert_allclose(got_grads[4 + t], want_dxs[t], rtol=1e-10, atol=1e-12)
    if not default_h0:
        np.testing.assert_allclose(got_grads[-1], want_dh0, rtol=1e-10, atol=1e-12)


def test_unroll_says_a_steps_input_needs_a_batch_dim():
    x = sg.Placeholder((4,), dtype="float64", name="x")
    cell = sg.nn.RNNCell(4, 3, dtype="float64")
    with pytest.raises(sg.ShapeError, match=r"each step's input must be \(batch, features\); input 0 \(x\) has shape \(4,\)") as info:
        sg.nn.unroll(cell, [x, x])
    assert "sg.reshape(x, (1, -1))" in str(info.value)


def test_reshape_to_a_dim_that_does_not_divide_the_size_says_so():
    w = sg.Variable(np.ones((2, 3)), name="w")
    with pytest.raises(sg.ShapeError, match="6 is not a multiple of the other dims' 4") as info:
        sg.reshape(w, (-1, 4))
    assert "fix:" in str(info.value)


def test_unroll_of_a_cell_without_initial_state_asks_for_h0():
    """A custom cell (a Module) without initial_state got a bare AttributeError, after
    taking the 'rnn' scope (found by a bug hunt)."""

    class ConcatCell(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = sg.nn.Linear(5, 2, dtype="float64", rng=0)

        def forward(self, x, h):
            return sg.tanh(self.lin(sg.concat([x, h], axis=1)))

    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    cell = ConcatCell()
    with pytest.raises(sg.ShapeError, match="ConcatCell has no initial_state") as caught:
        sg.nn.unroll(cell, [x, x])
    assert "pass h0=" in str(caught.value)
    outputs, _ = sg.nn.unroll(cell, [x, x], h0=sg.zeros_like(x[:, :2]))
    assert outputs[0].name.startswith("rnn/step_0/")  # the failed call took no scope


def test_an_rnn_cell_given_3d_steps_says_steps_are_batch_by_features():
    x = sg.Placeholder((None, 2, 3), name="x")
    with pytest.raises(sg.ShapeError, match=r"\(batch, features\); x has shape \(None, 2, 3\)"):
        sg.nn.unroll(sg.nn.RNNCell(3, 4), [x])
