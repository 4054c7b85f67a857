"""Draw the figures the README and the docs show, into docs/figures/.

    python docs/make_figures.py            # needs Graphviz's dot
    python docs/make_figures.py --out DIR  # somewhere else
    python docs/make_figures.py --only layers.svg rnn.svg   # just these

mlp.svg  a 2-8-1 MLP and the gradient graph autodiff adds to it: the forward
         pass runs down on the left, the backward pass runs back up on the right.
rnn.svg  an RNN unrolled 8 steps by a hand-written loop, with its gradients,
         each step (and each step's gradient) collapsed into one box.

The tutorials' pictures follow (tutorial number, then what it shows); each is
drawn from the same graph the tutorial's code builds:

  1 first_graph.svg, first_graph_values.svg   y = x @ W + b, then with the values of a run
  2 autodiff_before.svg, autodiff_after.svg     z = x * y + x before and after sg.gradients
    autodiff_broadcast.svg                      a broadcast bias and the sum_to its gradient needs
    autodiff_second.svg                         x ** 3 differentiated twice
  3 training.svg                                a linear model with its SGD update Nodes
  4 compiler_gradients.svg, compiler_fuse.svg  one training step after autodiff, and after every pass
    compiler_stabilize.svg                      log(softmax) and cross-entropy made stable
    compiler_program.svg                        the final Program, drawn
  5 layers.svg                                  a Sequential MLP: one cluster per layer
  6 rnn_unrolled.svg                            sg.nn.unroll over 8 steps, collapsed by step
  7 swish.svg                                   a user's op and the gradient its backward builds
  8 nan_values.svg                              the values of a run, where a NaN first appears

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


# -- tutorial 1: your first graph ----------------------------------------------------------
def _first_graph():
    x = sg.Placeholder((None, 3), name="x")
    W = sg.Variable(np.arange(6, dtype="float32").reshape(3, 2) / 10, name="W")
    b = sg.Variable(np.ones(2, "float32"), name="b")
    y = x @ W + b
    return x, y


def first_graph_figure(path: str) -> str:
    with sg.Graph().as_default():
        _, y = _first_graph()
        return sg.render(y, path, shapes="edge", rankdir="LR")


def first_graph_values_figure(path: str) -> str:
    with sg.Graph().as_default() as graph:
        x, y = _first_graph()
        X = np.array([[1, 2, 3], [4, 5, 6]], dtype="float32")
        with sg.Session(graph) as sess:
            return sg.render(y, path, session=sess, feed_dict={x: X}, rankdir="LR")


# -- tutorial 2: autodiff -------------------------------------------------------------------
def _xy():
    x = sg.Placeholder((), dtype="float64", name="x")
    y = sg.Placeholder((), dtype="float64", name="y")
    z = x * y + x
    return x, y, z


def autodiff_before_figure(path: str) -> str:
    with sg.Graph().as_default():
        _, _, z = _xy()
        return sg.render(z, path, labels={z: "z"})


def autodiff_after_figure(path: str) -> str:
    with sg.Graph().as_default():
        x, y, z = _xy()
        dz_dx, dz_dy = sg.gradients(z, [x, y])
        labels = {z: "z", dz_dx: "dz/dx", dz_dy: "dz/dy"}
        return sg.render([z, dz_dx, dz_dy], path, labels=labels, grad_links=True)


def autodiff_broadcast_figure(path: str) -> str:
    with sg.Graph().as_default():
        X = sg.Placeholder((4, 3), name="X")
        b = sg.Variable(np.zeros(3, "float32"), name="b")
        total = sg.sum(X + b)
        (db,) = sg.gradients(total, [b])
        return sg.render([total, db], path, shapes="edge", labels={db: "db", total: "total"})


def autodiff_second_figure(path: str) -> str:
    with sg.Graph().as_default():
        x = sg.Placeholder((), dtype="float64", name="x")
        y = x**3
        (dy,) = sg.gradients(y, [x])
        (ddy,) = sg.gradients(dy, [x])
        labels = {y: "y", dy: "dy/dx", ddy: "d2y/dx2"}
        return sg.render([y, dy, ddy], path, labels=labels)


# -- tutorial 3: training ---------------------------------------------------------------------
def training_figure(path: str) -> str:
    with sg.Graph().as_default():
        x = sg.Placeholder((None, 1), name="x")
        y = sg.Placeholder((None, 1), name="y")
        w = sg.Variable(np.zeros((1, 1), "float32"), name="w")
        b = sg.Variable(np.zeros(1, "float32"), name="b")
        loss = sg.mse(x @ w + b, y)
        train = sg.optim.SGD(lr=0.1).minimize(loss)
        return sg.render([loss, train], path, labels={loss: "loss", train: "train"})


# -- tutorial 4: inside the compiler -----------------------------------------------------------
def compiler_model():
    """The small classifier tutorial 4 compiles: one training step, and feeds for it."""
    rng = np.random.default_rng(0)
    x = sg.Placeholder((None, 4), name="x")
    y = sg.Placeholder((None,), dtype="int64", name="y")
    with sg.name_scope("hidden"):
        W1 = sg.Variable(rng.normal(0, 0.5, (4, 8)).astype("float32"), name="W")
        b1 = sg.Variable(np.zeros(8, "float32"), name="b")
        h = sg.tanh(x @ W1 + b1)
    with sg.name_scope("output"):
        W2 = sg.Variable(rng.normal(0, 0.5, (8, 3)).astype("float32"), name="W")
        b2 = sg.Variable(np.zeros(3, "float32"), name="b")
        logits = h @ W2 + b2
    loss = sg.softmax_cross_entropy(logits, y, name="loss")
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    X = rng.normal(size=(16, 4)).astype("float32")
    Y = rng.integers(0, 3, size=16)
    return [loss, train], {x: X, y: Y}


def _compiler_step_figure(step_name: str):
    def draw(path: str) -> str:
        with sg.Graph().as_default():
            fetches, feeds = compiler_model()
            steps = sg.explain(fetches, feeds=feeds)
            step = steps[step_name]
            return step.render(path, title=f"after '{step.name}': {step.title}")

    draw.__doc__ = f"The training step after the compiler's '{step_name}' step, changes marked."
    return draw


def compiler_stabilize_figure(path: str) -> str:
    with sg.Graph().as_default():
        logits = sg.Placeholder((None, 3), name="logits")
        labels = sg.Placeholder((None,), dtype="int64", name="labels")
        p = sg.softmax(logits)
        xent = sg.mean(-sg.sum(sg.one_hot(labels, 3) * sg.log(p), axis=-1), name="xent")
        steps = sg.explain(xent, feeds=[logits, labels])
        return steps["stabilize"].render(path, title="after 'stabilize' (changes marked)")


def compiler_program_figure(path: str) -> str:
    with sg.Graph().as_default():
        fetches, feeds = compiler_model()
        program = sg.compile(fetches, feeds=feeds)
        return sg.render(program, path, title="the Program that runs: one box per instruction")


# -- tutorial 5: layers ----------------------------------------------------------------------
def layers_figure(path: str) -> str:
    with sg.Graph().as_default():
        sg.nn.init.seed(0)
        x = sg.Placeholder((None, 64), name="x")
        y = sg.Placeholder((None,), dtype="int64", name="y")
        model = sg.nn.Sequential(sg.nn.Linear(64, 32), sg.nn.ReLU(), sg.nn.Linear(32, 10))
        loss = sg.nn.CrossEntropyLoss()(model(x), y)
        return sg.render(loss, path, shapes="edge", labels={loss: "loss"})


# -- tutorial 6: RNNs --------------------------------------------------------------------------
def rnn_model(steps: int = 8, symbols: int = 4):
    """Tutorial 6's RNN: one-hot symbols, an RNNCell unrolled, a class from the last state."""
    ids = sg.Placeholder((None, steps), dtype="int64", name="ids")
    first = sg.Placeholder((None,), dtype="int64", name="first")
    cell = sg.nn.RNNCell(symbols, 32)
    head = sg.nn.Linear(32, symbols)
    xs = sg.unstack(sg.one_hot(ids, symbols), axis=1)  # one (batch, symbols) Node per step
    _, h_last = sg.nn.unroll(cell, xs)
    loss = sg.nn.CrossEntropyLoss()(head(h_last), first)
    return loss, cell


def rnn_unrolled_figure(path: str, steps: int = 8) -> str:
    with sg.Graph().as_default():
        sg.nn.init.seed(0)
        loss, cell = rnn_model(steps)
        grads = sg.gradients(loss, [cell.weight_hh, cell.weight_ih])
        labels = {loss: "loss", grads[0]: "dW_hh", grads[1]: "dW_ih"}
        return sg.render(
            [loss, *grads],
            path,
            labels=labels,
            collapse=["rnn/step_*", "gradients/rnn/step_*"],
            title=f"sg.nn.unroll over {steps} steps, and backpropagation through time",
        )


# -- tutorial 7: extending -------------------------------------------------------------------
class Swish(sg.Op):
    """x * sigmoid(beta * x), as tutorial 7 writes it."""

    elementwise = True
    registered = False  # a figure's op: kept out of symgraph's registry of ops

    def infer(self, x, *, beta):
        return x.shape, x.dtype

    def forward(self, x, *, beta):
        return x * (0.5 * (1.0 + np.tanh(0.5 * beta * x)))

    def backward(self, node, grad):
        (x,) = node.inputs
        beta = node.attrs["beta"]
        s = sg.sigmoid(beta * x)
        return (grad * (s + beta * x * s * (1 - s)),)


def swish_figure(path: str) -> str:
    from symgraph.graph import make_node

    with sg.Graph().as_default():
        v = sg.Placeholder((None, 4), name="v")
        y = sg.sum(make_node(Swish(), (v,), {"beta": 1.0}, name="swish"))
        (dv,) = sg.gradients(y, [v])
        return sg.render([y, dv], path, labels={dv: "dv", y: "y"}, grad_links=True)


# -- tutorial 8: when things go wrong --------------------------------------------------------
def nan_values_figure(path: str) -> str:
    with sg.Graph().as_default() as graph:
        v = sg.Placeholder((3,), name="v")
        loss = sg.sum(sg.log(sg.sqrt(v) * 2), name="loss")
        with sg.Session(graph) as sess:
            feed = {v: np.array([4.0, 0.0, -1.0], dtype="float32")}
            with np.errstate(all="ignore"):
                return sg.render(loss, path, session=sess, feed_dict=feed, rankdir="LR")


FIGURES = {
    "mlp.svg": mlp_figure,
    "rnn.svg": rnn_figure,
    "first_graph.svg": first_graph_figure,
    "first_graph_values.svg": first_graph_values_figure,
    "autodiff_before.svg": autodiff_before_figure,
    "autodiff_after.svg": autodiff_after_figure,
    "autodiff_broadcast.svg": autodiff_broadcast_figure,
    "autodiff_second.svg": autodiff_second_figure,
    "training.svg": training_figure,
    "compiler_gradients.svg": _compiler_step_figure("gradients"),
    "compiler_fuse.svg": _compiler_step_figure("fuse"),
    "compiler_stabilize.svg": compiler_stabilize_figure,
    "compiler_program.svg": compiler_program_figure,
    "layers.svg": layers_figure,
    "rnn_unrolled.svg": rnn_unrolled_figure,
    "swish.svg": swish_figure,
    "nan_values.svg": nan_values_figure,
}


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "figures"), help="output folder")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=list(FIGURES), help="draw only these figures"
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        if args.only and name not in args.only:
            continue
        written.append(draw(os.path.join(args.out, name)))
        print("wrote", written[-1])
    return written


if __name__ == "__main__":
    main()
