"""The benchmark models, written twice: as symgraph graphs and as hand-written NumPy.

W1: MLP 784 -> 256 (tanh) -> 10, softmax cross-entropy, batch 128, one SGD step.
W2: RNN, vocab 64, embedding 32, hidden 128, tanh cell, 32 steps, batch 32,
    cross-entropy at every step, full BPTT, one SGD step.
W3: W2's RNN at batch 8, unrolled 10 to 10,000 steps (benchmarks/compile_time.py).

The NumPy versions are what a careful person writes: plain expressions, no
`out=` or other tricks. Each returns a `step()` function that runs one
training step and returns the loss, plus `grads()` for the correctness check.
"""

from __future__ import annotations

import numpy as np

LR = 0.01


# -- W1: MLP -----------------------------------------------------------------------------
def mlp_data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(128, 784)).astype(dtype)
    Y = rng.integers(0, 10, size=128)
    W1 = (rng.normal(size=(784, 256)) * 0.05).astype(dtype)
    b1 = np.zeros(256, dtype)
    W2 = (rng.normal(size=(256, 10)) * 0.05).astype(dtype)
    b2 = np.zeros(10, dtype)
    return X, Y, [W1, b1, W2, b2]


def mlp_numpy(dtype):
    X, Y, params = mlp_data(dtype)
    W1, b1, W2, b2 = params
    n = len(Y)

    def forward_backward():
        h = np.tanh(X @ W1 + b1)
        z = h @ W2 + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), Y]).mean()
        dz = p.copy()
        dz[np.arange(n), Y] -= 1
        dz /= n
        dW2 = h.T @ dz
        db2 = dz.sum(axis=0)
        dh = dz @ W2.T
        da = dh * (1 - h * h)
        dW1 = X.T @ da
        db1 = da.sum(axis=0)
        return loss, [dW1, db1, dW2, db2]

    def step():
        nonlocal W1, b1, W2, b2
        loss, (dW1, db1, dW2, db2) = forward_backward()
        W1 = W1 - LR * dW1
        b1 = b1 - LR * db1
        W2 = W2 - LR * dW2
        b2 = b2 - LR * db2
        return loss

    return step, forward_backward


def mlp_symgraph(dtype, disable=()):
    import symgraph as sg

    X, Y, params = mlp_data(dtype)
    graph = sg.Graph()
    with graph.as_default():
        x = sg.Placeholder((None, 784), dtype=dtype, name="x")
        y = sg.Placeholder((None,), dtype="int64", name="y")
        W1, b1, W2, b2 = (sg.Variable(p, name=n) for p, n in zip(params, ["W1", "b1", "W2", "b2"]))
        h = sg.tanh(x @ W1 + b1)
        loss = sg.softmax_cross_entropy(h @ W2 + b2, y)
        # one gradient graph, fetched by the check and applied by the step (as in TF1)
        grads = sg.gradients(loss, [W1, b1, W2, b2])
        train = sg.optim.SGD(lr=LR).apply_gradients(zip(grads, [W1, b1, W2, b2]))
    sess = sg.Session(graph, disable=disable)
    feed = {x: X, y: Y}

    def step():
        return sess.run([loss, train], feed)[0]

    def forward_backward():
        values = sess.run([loss, *grads], feed)
        return values[0], values[1:]

    return step, forward_backward


# -- W2: RNN ---------------------------------------------------------------------------------
V, E, H, T, B = 64, 32, 128, 32, 32


def rnn_data(dtype, seed=0, steps=T, batch=B):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, size=(steps + 1, batch))
    emb = (rng.normal(size=(V, E)) * 0.1).astype(dtype)
    Wx = (rng.normal(size=(E, H)) * 0.1).astype(dtype)
    Wh = (rng.normal(size=(H, H)) * 0.1).astype(dtype)
    bh = np.zeros(H, dtype)
    Wo = (rng.normal(size=(H, V)) * 0.1).astype(dtype)
    bo = np.zeros(V, dtype)
    return ids, [emb, Wx, Wh, bh, Wo, bo]


def rnn_numpy(dtype, steps=T, batch=B):
    ids, params = rnn_data(dtype, steps=steps, batch=batch)
    emb, Wx, Wh, bh, Wo, bo = params
    inputs, targets = ids[:-1], ids[1:]
    count = steps * batch

    def forward_backward():
        hs = [np.zeros((batch, H), dtype)]
        xs, ps = [], []
        loss = 0.0
        for t in range(steps):
            x = emb[inputs[t]]
            h = np.tanh(x @ Wx + hs[-1] @ Wh + bh)
            z = h @ Wo + bo
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            loss += -np.log(p[np.arange(batch), targets[t]]).sum()
            xs.append(x)
            hs.append(h)
            ps.append(p)
        loss /= count
        demb, dWx, dWh = np.zeros_like(emb), np.zeros_like(Wx), np.zeros_like(Wh)
        dbh, dWo, dbo = np.zeros_like(bh), np.zeros_like(Wo), np.zeros_like(bo)
        dh_next = np.zeros((batch, H), dtype)
        for t in reversed(range(steps)):
            dz = ps[t].copy()
            dz[np.arange(batch), targets[t]] -= 1
            dz /= count
            dWo += hs[t + 1].T @ dz
            dbo += dz.sum(axis=0)
            dh = dz @ Wo.T + dh_next
            da = dh * (1 - hs[t + 1] * hs[t + 1])
            dWx += xs[t].T @ da
            dWh += hs[t].T @ da
            dbh += da.sum(axis=0)
            np.add.at(demb, inputs[t], da @ Wx.T)
            dh_next = da @ Wh.T
        return loss, [demb, dWx, dWh, dbh, dWo, dbo]

    def step():
        nonlocal emb, Wx, Wh, bh, Wo, bo
        loss, g = forward_backward()
        emb, Wx, Wh, bh, Wo, bo = (p - LR * d for p, d in zip((emb, Wx, Wh, bh, Wo, bo), g))
        return loss

    return step, forward_backward


def rnn_graph(dtype, steps=T, batch=B):
    """The W2 forward graph, unrolled `steps` steps: (graph, loss, parameters, feed_dict)."""
    import symgraph as sg

    ids, params = rnn_data(dtype, steps=steps, batch=batch)
    graph = sg.Graph()
    with graph.as_default():
        names = ["emb", "Wx", "Wh", "bh", "Wo", "bo"]
        emb, Wx, Wh, bh, Wo, bo = (sg.Variable(p, name=n) for p, n in zip(params, names))
        xs = [sg.Placeholder((batch,), dtype="int64", name=f"x{t}") for t in range(steps)]
        targets = sg.Placeholder((steps, batch), dtype="int64", name="targets")
        h = sg.Constant(np.zeros((batch, H), dtype))
        states = []
        for t in range(steps):
            with sg.name_scope(f"rnn/step_{t}"):
                h = sg.tanh(sg.embedding_lookup(emb, xs[t]) @ Wx + h @ Wh + bh)
            states.append(h)
        logits = sg.reshape(sg.stack(states), (-1, H)) @ Wo + bo
        loss = sg.softmax_cross_entropy(logits, sg.reshape(targets, (-1,)))
    feed = {xs[t]: ids[t] for t in range(steps)}
    feed[targets] = ids[1:]
    return graph, loss, [emb, Wx, Wh, bh, Wo, bo], feed


def rnn_symgraph(dtype, steps=T, batch=B, disable=()):
    import symgraph as sg

    graph, loss, params, feed = rnn_graph(dtype, steps=steps, batch=batch)
    with graph.as_default():
        # one gradient graph, fetched by the check and applied by the step (as in TF1)
        grads = sg.gradients(loss, params)
        train = sg.optim.SGD(lr=LR).apply_gradients(zip(grads, params))
    sess = sg.Session(graph, disable=disable)

    def step():
        return sess.run([loss, train], feed)[0]

    def forward_backward():
        values = sess.run([loss, *grads], feed)
        return values[0], values[1:]

    return step, forward_backward


# -- PyTorch (optional: the `bench` extra) -------------------------------------------------------
def _torch_params(params):
    import torch

    return [torch.tensor(p, requires_grad=True) for p in params]


def _torch_training(ps, loss_of):
    """step() and forward_backward() for parameters `ps` and a function making the loss."""
    import torch

    def forward_backward():
        for p in ps:
            p.grad = None
        loss = loss_of()
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in ps]

    def step():
        loss, _ = forward_backward()
        with torch.no_grad():
            for p in ps:
                p -= LR * p.grad
        return loss

    return step, forward_backward


def mlp_torch(dtype):
    import torch

    X, Y, params = mlp_data(dtype)
    X, Y = torch.tensor(X), torch.tensor(Y)
    W1, b1, W2, b2 = ps = _torch_params(params)
    return _torch_training(
        ps, lambda: torch.nn.functional.cross_entropy(torch.tanh(X @ W1 + b1) @ W2 + b2, Y)
    )


def rnn_torch(dtype, steps=T, batch=B):
    import torch

    ids, params = rnn_data(dtype, steps=steps, batch=batch)
    ids = torch.tensor(ids)
    emb, Wx, Wh, bh, Wo, bo = ps = _torch_params(params)
    zeros = torch.zeros((batch, H), dtype=emb.dtype)

    def loss_of():
        h, states = zeros, []
        for t in range(steps):
            h = torch.tanh(emb[ids[t]] @ Wx + h @ Wh + bh)
            states.append(h)
        logits = torch.stack(states).reshape(-1, H) @ Wo + bo
        return torch.nn.functional.cross_entropy(logits, ids[1:].reshape(-1))

    return _torch_training(ps, loss_of)


# -- HIPS autograd (optional: the `bench` extra) ---------------------------------------------------
def _autograd_xent(anp, logits, labels):
    z = logits - anp.max(logits, axis=1, keepdims=True)
    logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
    return -anp.mean(logp[anp.arange(len(labels)), labels])


def _autograd_training(params, loss_fn):
    """step() and forward_backward() for a list of arrays and a loss function of them."""
    from autograd import value_and_grad

    loss_and_grads = value_and_grad(loss_fn)

    def forward_backward():
        return loss_and_grads(params)

    def step():
        loss, grads = loss_and_grads(params)
        params[:] = [p - LR * g for p, g in zip(params, grads)]
        return loss

    return step, forward_backward


def mlp_autograd(dtype):
    import autograd.numpy as anp

    X, Y, params = mlp_data(dtype)

    def loss_fn(ps):
        W1, b1, W2, b2 = ps
        return _autograd_xent(anp, anp.tanh(anp.dot(X, W1) + b1) @ W2 + b2, Y)

    return _autograd_training(params, loss_fn)


def rnn_autograd(dtype, steps=T, batch=B):
    import autograd.numpy as anp

    ids, params = rnn_data(dtype, steps=steps, batch=batch)

    def loss_fn(ps):
        emb, Wx, Wh, bh, Wo, bo = ps
        h, states = anp.zeros((batch, H), dtype), []
        for t in range(steps):
            h = anp.tanh(anp.dot(emb[ids[t]], Wx) + anp.dot(h, Wh) + bh)
            states.append(h)
        logits = anp.dot(anp.reshape(anp.stack(states), (-1, H)), Wo) + bo
        return _autograd_xent(anp, logits, ids[1:].reshape(-1))

    return _autograd_training(params, loss_fn)


# -- PyTensor (optional: the `bench` extra) ---------------------------------------------------------
# PyTensor's default mode: in PyTensor 3 that is its Numba backend; PYTENSOR_FLAGS=linker=cvm
# selects its C backend instead. Both functions are compiled when built, not at their first call.
def _pytensor_xent(pt, logits, labels):
    z = logits - pt.max(logits, axis=1, keepdims=True)
    logp = z - pt.log(pt.sum(pt.exp(z), axis=1, keepdims=True))
    return -pt.mean(logp[pt.arange(labels.shape[0]), labels])


def _pytensor_training(inputs, values, params, loss, dtype):
    """step() and forward_backward() for shared `params` and a symbolic `loss` of `inputs`,
    which every call feeds with the arrays `values`."""
    import pytensor

    grads = pytensor.grad(loss, params)
    lr = np.asarray(LR, dtype)  # a Python float would upcast float32 parameters to float64
    train = pytensor.function(inputs, loss, updates=[(p, p - lr * g) for p, g in zip(params, grads)])
    loss_and_grads = pytensor.function(inputs, [loss, *grads])

    def forward_backward():
        loss_value, *grad_values = loss_and_grads(*values)
        return loss_value, grad_values

    def step():
        return train(*values)

    return step, forward_backward


def mlp_pytensor(dtype):
    import pytensor
    import pytensor.tensor as pt

    X, Y, params = mlp_data(dtype)
    W1, b1, W2, b2 = ps = [pytensor.shared(p, name=n) for p, n in zip(params, ["W1", "b1", "W2", "b2"])]
    x, y = pt.matrix("x", dtype=dtype), pt.vector("y", dtype=Y.dtype)
    loss = _pytensor_xent(pt, pt.tanh(x @ W1 + b1) @ W2 + b2, y)
    return _pytensor_training([x, y], [X, Y], ps, loss, dtype)


def rnn_pytensor(dtype, steps=T, batch=B):
    import pytensor
    import pytensor.tensor as pt

    ids, params = rnn_data(dtype, steps=steps, batch=batch)
    names = ["emb", "Wx", "Wh", "bh", "Wo", "bo"]
    emb, Wx, Wh, bh, Wo, bo = ps = [pytensor.shared(p, name=n) for p, n in zip(params, names)]
    ids_in = pt.matrix("ids", dtype=ids.dtype)
    h, states = pt.zeros((batch, H), dtype=dtype), []
    for t in range(steps):  # unrolled by Python, not scan
        h = pt.tanh(emb[ids_in[t]] @ Wx + h @ Wh + bh)
        states.append(h)
    logits = pt.stack(states).reshape((-1, H)) @ Wo + bo
    loss = _pytensor_xent(pt, logits, ids_in[1:].reshape((-1,)))
    return _pytensor_training([ids_in], [ids], ps, loss, dtype)
