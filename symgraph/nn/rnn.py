"""Recurrent networks by unrolling: one copy of the cell's ops per time step.

A static graph has no loops, so an RNN over T steps is built as T calls of
the same cell, each feeding its hidden state to the next. The cell's
Variables are shared by every step (they were made once, in RNNCell's
__init__), so their gradients add up over time: that is backpropagation
through time, with no special code, just fan-out in autodiff.
"""

from __future__ import annotations

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import Constant, Variable, as_node, get_default_graph
from symgraph.nn import init
from symgraph.nn.layers import checked_float_dtype, checked_sizes
from symgraph.nn.module import Module
from symgraph.ops.math import relu, tanh
from symgraph.ops.shape import zeros_like

_NONLINEARITIES = {"tanh": tanh, "relu": relu}


class RNNCell(Module):
    """h' = act(x @ weight_ih + bias_ih + h @ weight_hh + bias_hh), act tanh or relu."""

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", dtype="float32", rng=None):
        super().__init__()
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.input_size, self.hidden_size = checked_sizes(
            "RNNCell", input_size=input_size, hidden_size=hidden_size
        )
        self.nonlinearity = nonlinearity
        self.dtype = dtype = checked_float_dtype("RNNCell", dtype)
        rng = init.as_generator(rng)  # an int seed: one generator for both weights
        self.weight_ih = Variable(
            init.glorot_uniform((input_size, hidden_size), dtype, rng=rng), name="weight_ih"
        )
        self.weight_hh = Variable(
            init.glorot_uniform((hidden_size, hidden_size), dtype, rng=rng), name="weight_hh"
        )
        self.bias_ih = Variable(init.zeros(hidden_size, dtype), name="bias_ih")
        self.bias_hh = Variable(init.zeros(hidden_size, dtype), name="bias_hh")

    def forward(self, x, h):
        act = _NONLINEARITIES[self.nonlinearity]
        return act(x @ self.weight_ih + self.bias_ih + h @ self.weight_hh + self.bias_hh)

    def initial_state(self, x):
        """Zeros of shape (batch, hidden_size), the batch size read off x (it may be None)."""
        if x.ndim != 2:
            raise ShapeError(
                f"RNNCell's steps take inputs of shape (batch, features); {x.name} has shape "
                f"{shape_str(x.shape)}",
                node=x,
                hint="unstack a (batch, time, features) sequence along its time axis first: "
                "sg.unstack(seq, axis=1)",
            )
        # zeros_like(x[:, :1]) is (batch, 1) with the batch size read when the graph
        # runs; adding a (hidden,) row of zeros broadcasts it to (batch, hidden).
        return zeros_like(x[:, :1]) + Constant(init.zeros(self.hidden_size, self.dtype), name="h0")

    def extra_repr(self):
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "nonlinearity": self.nonlinearity}


def unroll(cell, inputs, h0=None, scope="rnn"):
    """Run `cell` over a list of input Nodes; return (outputs, h_last).

    Step t is built in the name scope `rnn/step_t`, so pictures can draw (or
    collapse) one box per step. h0 defaults to zeros with the inputs' batch size.
    """
    inputs = [as_node(x) for x in inputs]
    if not inputs:
        raise ShapeError("unroll needs at least one input Node")
    graph = inputs[0].graph or get_default_graph()
    first = inputs[0]
    if len(first.shape) < 2:  # the zero initial state takes its batch size from dim 0
        raise ShapeError(
            f"unroll: each step's input must be (batch, features); input 0 ({first.name}) has "
            f"shape {shape_str(first.shape)}",
            node=first,
            hint="for one sequence, add a batch dim: sg.reshape(x, (1, -1))",
        )
    for t, x in enumerate(inputs):
        if x.shape != first.shape and len(x.shape) == len(first.shape) and any(
            a is not None and b is not None and a != b for a, b in zip(x.shape, first.shape)
        ):
            raise ShapeError(
                f"unroll: input {t} ({x.name}) has shape {shape_str(x.shape)}, input 0 has "
                f"{shape_str(first.shape)}; every step needs the same shape"
            )
    if h0 is None and not callable(getattr(cell, "initial_state", None)):
        raise ShapeError(
            f"unroll needs the first hidden state: {type(cell).__name__} has no "
            "initial_state(x) to make it",
            hint=f"pass h0= (e.g. zeros of shape (batch, hidden)), or give {type(cell).__name__} "
            "a method initial_state(self, x) returning it, as RNNCell has",
        )
    outputs = []
    # the cell's initial state and its steps belong to the inputs' graph, even outside
    # `with graph.as_default():` (its Variables were made there when the cell was)
    with graph.as_default(), graph.name_scope(scope) as path:
        h = h0
        if h is None:
            with graph.name_scope("init"):
                h = cell.initial_state(first)
        for t, x in enumerate(inputs):
            with graph.name_scope(f"{path}step_{t}/"):  # path is 'rnn/', re-enterable
                h = cell(x, h)
            outputs.append(h)
    return outputs, h
