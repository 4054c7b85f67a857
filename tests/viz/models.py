"""Small graphs the picture tests draw: an MLP with gradients and SGD, an unrolled RNN."""

from __future__ import annotations

import numpy as np

import symgraph as sg


def mlp(train=True):
    """x -> hidden (tanh) -> output -> mse loss; gradients; an SGD step. Returns a dict."""
    rng = np.random.default_rng(0)
    x = sg.Placeholder((None, 2), name="x")
    y = sg.Placeholder((None, 1), name="y")
    with sg.name_scope("hidden"):
        W1 = sg.Variable(rng.normal(size=(2, 3)).astype("float32"), name="W")
        b1 = sg.Variable(np.zeros(3, "float32"), name="b")
        h = sg.tanh(x @ W1 + b1)
    with sg.name_scope("output"):
        W2 = sg.Variable(rng.normal(size=(3, 1)).astype("float32"), name="W")
        b2 = sg.Variable(np.zeros(1, "float32"), name="b")
        out = h @ W2 + b2
    loss = sg.mse(out, y)
    parts = dict(x=x, y=y, W1=W1, b1=b1, h=h, W2=W2, b2=b2, out=out, loss=loss)
    if train:
        parts["train"] = sg.optim.SGD(lr=0.1).minimize(loss)
    return parts


def rnn(steps, hidden=4, per_step=1):
    """h = tanh(x_t @ Wx + h @ Wh + b), `per_step` times in each `rnn/step_t` scope."""
    rng = np.random.default_rng(0)
    with sg.name_scope("rnn"):
        Wx = sg.Variable(rng.normal(size=(2, hidden)).astype("float32"), name="Wx")
        Wh = sg.Variable(rng.normal(size=(hidden, hidden)).astype("float32"), name="Wh")
        b = sg.Variable(np.zeros(hidden, "float32"), name="b")
        h = sg.Placeholder((None, hidden), name="h0")
    xs = []
    for t in range(steps):
        with sg.name_scope(f"rnn/step_{t}"):
            x_t = sg.Placeholder((None, 2), name="x")
            xs.append(x_t)
            for _ in range(per_step):
                h = sg.tanh(x_t @ Wx + h @ Wh + b)
    return dict(Wx=Wx, Wh=Wh, b=b, xs=xs, h=h)
