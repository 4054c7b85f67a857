"""Draw the figures the README and the docs show, into docs/figures/.

    python docs/make_figures.py            # needs Graphviz's dot
    python docs/make_figures.py --out DIR  # somewhere else

mlp.svg  a 2-8-1 MLP and the gradient graph autodiff adds to it: the forward
         pass runs down on the left, the backward pass runs back up on the right.
rnn.svg  an RNN unrolled 8 steps by a hand-written loop, with its gradients,
         each step (and each step's gradient) collapsed into one box.

Each figure is built in its own Graph, from fixed seeds, so running this
again gives the same pictures.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a clone without installing

import symgraph as sg  # noqa: E402


def mlp_figure(path: str) -> str:
    """x -> tanh(x W1 + b1) -> (h W2 + b2) -> mse, and the gradients of the loss."""
    rng = np.random.default_rng(0)
    with sg.Graph().as_default():
        x = sg.Placeholder((None, 2), name="x")
        y = sg.Placeholder((None, 1), name="y")
        with sg.name_scope("hidden"):
            W1 = sg.Variable(rng.normal(0, 1, (2, 8)).astype("float32"), name="W")
            b1 = sg.Variable(np.zeros(8, "float32"), name="b")
            h = sg.tanh(x @ W1 + b1)
        with sg.name_scope("output"):
            W2 = sg.Variable(rng.normal(0, 1, (8, 1)).astype("float32"), name="W")
            b2 = sg.Variable(np.zeros(1, "float32"), name="b")
            out = h @ W2 + b2
        loss = sg.mse(out, y)
        grads = sg.gradients(loss, [W1, b1, W2, b2])
        labels = dict(zip(grads, ["dW1", "db1", "dW2", "db2"]))
        labels[loss] = "loss"
        return sg.render(
            [loss, *grads],
            path,
            labels=labels,
            title="A 2-8-1 MLP (left) and the gradient graph autodiff adds to it (right)",
        )


def rnn_figure(path: str, steps: int = 8) -> str:
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b), unrolled by hand, one name scope a step."""
    rng = np.random.default_rng(0)
    with sg.Graph().as_default():
        with sg.name_scope("rnn"):
            Wx = sg.Variable(rng.normal(0, 0.3, (3, 16)).astype("float32"), name="Wx")
            Wh = sg.Variable(rng.normal(0, 0.3, (16, 16)).astype("float32"), name="Wh")
            b = sg.Variable(np.zeros(16, "float32"), name="b")
            h = sg.Placeholder((None, 16), name="h0")
        for t in range(steps):
            with sg.name_scope(f"rnn/step_{t}"):
                x_t = sg.Placeholder((None, 3), name="x")
                h = sg.tanh(x_t @ Wx + h @ Wh + b)
        target = sg.Placeholder((None, 16), name="target")
        loss = sg.mse(h, target)
        grads = sg.gradients(loss, [Wx, Wh, b])
        labels = dict(zip(grads, ["dWx", "dWh", "db"]))
        labels[loss] = "loss"
        return sg.render(
            [loss, *grads],
            path,
            labels=labels,
            collapse=["rnn/step_*", "gradients/rnn/step_*"],
            title=f"An RNN unrolled {steps} steps, and its gradients, collapsed by step",
        )


FIGURES = {"mlp.svg": mlp_figure, "rnn.svg": rnn_figure}


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "figures"), help="output folder")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        written.append(draw(os.path.join(args.out, name)))
        print("wrote", written[-1])
    return written


if __name__ == "__main__":
    main()
