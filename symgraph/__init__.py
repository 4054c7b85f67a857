"""symgraph: a deep-learning framework made to be read.

Build a graph of Placeholders, Variables and ops; `gradients` adds the
gradient graph; a compiler turns what you fetch into a Program; a Session
runs it. See README.md and docs/ for the tour.
"""

__version__ = "0.1.0"

from symgraph import ops as _ops_package  # noqa: F401  (the Op contract lives in ops/base.py)
from symgraph.graph import (
    Constant,
    Graph,
    Node,
    Placeholder,
    Variable,
    get_default_graph,
    make_node,
    name_scope,
    reset_default_graph,
)
from symgraph.ops import linalg as _linalg
from symgraph.ops import math as _math
from symgraph.ops import nn as _nn_ops
from symgraph.ops import operators as _operators
from symgraph.ops import reduce as _reduce
from symgraph.ops import shape as _shape
from symgraph.ops import state as _state
from symgraph.ops.base import Op

_operators.attach()  # Node's + - * / ** @ [] .T, now that the ops exist

from symgraph import data, errors, nn, optim, testing  # noqa: E402
from symgraph.autodiff import gradients  # noqa: E402
from symgraph.compiler import Program, compile, explain  # noqa: E402
from symgraph.errors import (  # noqa: E402
    CheckpointError,
    FeedError,
    FetchError,
    GradientError,
    GraphError,
    NumericError,
    RenderError,
    RunError,
    ShapeError,
    SymgraphError,
)
from symgraph.ops import random as _random  # noqa: E402
from symgraph.optim import clip_by_global_norm  # noqa: E402
from symgraph.session import Session  # noqa: E402
from symgraph.viz import attach_display as _attach_display  # noqa: E402
from symgraph.viz import render, to_dot  # noqa: E402

_attach_display()  # Node, Graph and Program draw themselves inline in Jupyter

# ops as functions
add, sub, mul, div, neg, pow = _math.add, _math.sub, _math.mul, _math.div, _math.neg, _math.pow
exp, log, sqrt, tanh, sigmoid, relu = _math.exp, _math.log, _math.sqrt, _math.tanh, _math.sigmoid, _math.relu
softplus, abs, maximum, minimum, clip, where = (
    _math.softplus, _math.abs, _math.maximum, _math.minimum, _math.clip, _math.where,
)
logical_and, logical_or, logical_not = _math.logical_and, _math.logical_or, _math.logical_not
greater, greater_equal, less, less_equal, equal, not_equal = (
    _math.greater, _math.greater_equal, _math.less, _math.less_equal, _math.equal, _math.not_equal,
)
cast = _math.cast
matmul, transpose = _linalg.matmul, _linalg.transpose
sum, mean, max, argmax = _reduce.sum, _reduce.mean, _reduce.max, _reduce.argmax
reshape, concat, stack, split, unstack = _shape.reshape, _shape.concat, _shape.stack, _shape.split, _shape.unstack
squeeze, expand_dims, broadcast_to = _shape.squeeze, _shape.expand_dims, _shape.broadcast_to
zeros_like, ones_like, getitem = _shape.zeros_like, _shape.ones_like, _shape.getitem
stop_gradient = _shape.stop_gradient
softmax, log_softmax, softmax_cross_entropy = _nn_ops.softmax, _nn_ops.log_softmax, _nn_ops.softmax_cross_entropy
embedding_lookup, one_hot, mse = _nn_ops.embedding_lookup, _nn_ops.one_hot, _nn_ops.mse
assign, group = _state.assign, _state.group
random_uniform = _random.random_uniform

__all__ = [
    "__version__",
    # graph building
    "Graph", "Node", "Placeholder", "Variable", "Constant",
    "get_default_graph", "reset_default_graph", "name_scope", "Op", "make_node",
    # ops
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "tanh", "sigmoid", "relu",
    "softplus", "abs", "maximum", "minimum", "clip", "where",
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal", "cast",
    "logical_and", "logical_or", "logical_not",
    "matmul", "transpose", "sum", "mean", "max", "argmax",
    "reshape", "concat", "stack", "split", "unstack", "squeeze", "expand_dims", "broadcast_to",
    "zeros_like", "ones_like", "getitem", "stop_gradient",
    "softmax", "log_softmax", "softmax_cross_entropy", "embedding_lookup", "one_hot", "mse",
    "assign", "group", "random_uniform", "clip_by_global_norm",
    # autodiff, compiling, running
    "gradients", "compile", "explain", "Program", "Session", "optim", "testing", "errors", "nn", "data",
    # pictures
    "to_dot", "render",
    # errors
    "SymgraphError", "ShapeError", "FeedError", "FetchError", "GraphError", "GradientError",
    "RunError", "NumericError", "CheckpointError", "RenderError",
]
