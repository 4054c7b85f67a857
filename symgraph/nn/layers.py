"""Layers: Linear, activations, Embedding, Dropout, Sequential.

Each is a few lines of graph building: a layer's `forward` uses the same
ops a user would write by hand. Weights are shaped (in, out) and used as
`x @ weight + bias`, so a batch of rows goes in and a batch of rows comes out.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError
from symgraph.graph import Placeholder, Variable, as_node, get_default_graph
from symgraph.nn import init
from symgraph.nn.module import Module
from symgraph.ops.base import is_float, known_dtype
from symgraph.ops.math import greater_equal, relu, sigmoid, tanh, where
from symgraph.ops.nn import embedding_lookup
from symgraph.ops.random import random_uniform


def checked_sizes(layer: str, **sizes) -> tuple:
    """A layer's sizes, each a whole number of at least 1, as ints. Linear(2.5, 3) would
    otherwise be a 2 -> 3 layer, and a size 0 fail in the initializer's arithmetic."""
    checked = []
    for what, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{layer}: {what} must be a whole number, got {value!r}")
        if value < 1:
            raise ValueError(f"{layer}: {what} must be at least 1, got {value}")
        checked.append(int(value))
    return tuple(checked)


def checked_float_dtype(layer: str, dtype) -> np.dtype:
    """A layer's weights are floats: Glorot values cast to int would all be 0. None is
    the default, float32 (to NumPy, None means float64)."""
    if dtype is None:
        return np.dtype("float32")
    dtype = known_dtype(dtype, f"{layer}'s weights have dtype")  # a name NumPy knows
    if not is_float(dtype):
        raise TypeError(f"{layer}: weights must be floats, got dtype={dtype}; use 'float32' or 'float64'")
    return dtype


class Linear(Module):
    """y = x @ weight + bias, weight (in_features, out_features) Glorot-uniform, bias zeros.

    x is (batch, in_features), or any (..., in_features), such as (time, batch,
    in_features): every row is mapped, as by PyTorch's nn.Linear."""

    def __init__(self, in_features, out_features, bias=True, dtype="float32", rng=None):
        super().__init__()
        self.in_features, self.out_features = checked_sizes(
            "Linear", in_features=in_features, out_features=out_features
        )
        dtype = checked_float_dtype("Linear", dtype)
        self.weight = Variable(
            init.glorot_uniform((in_features, out_features), dtype, rng=rng), name="weight"
        )
        if bias:
            self.bias = Variable(init.zeros(out_features, dtype), name="bias")
        else:
            self.bias = None

    def forward(self, x):
        x = as_node(x)
        if not is_float(x.dtype):
            raise ShapeError(
                f"Linear of {x.name} ({x.dtype}): a Linear layer maps float features; NumPy "
                f"would make {x.dtype} @ {self.weight.dtype} a float64 result",
                node=x,
                hint=f"cast the input, sg.cast(x, '{self.weight.dtype}'), or, for integer ids, "
                "use sg.nn.Embedding",
            )
        y = x @ self.weight
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None}


class Sigmoid(Module):
    """sg.sigmoid as a layer, for Sequential."""

    def forward(self, x):
        return sigmoid(x)


class Tanh(Module):
    """sg.tanh as a layer, for Sequential."""

    def forward(self, x):
        return tanh(x)


class ReLU(Module):
    """sg.relu as a layer, for Sequential."""

    scope_name = "relu"

    def forward(self, x):
        return relu(x)


class Embedding(Module):
    """A table of `num_embeddings` vectors of size `embedding_dim`; ids (...) -> (..., dim)."""

    def __init__(self, num_embeddings, embedding_dim, dtype="float32", rng=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = checked_sizes(
            "Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim
        )
        dtype = checked_float_dtype("Embedding", dtype)
        self.weight = Variable(
            init.normal((num_embeddings, embedding_dim), dtype=dtype, rng=rng), name="weight"
        )

    def forward(self, ids):
        return embedding_lookup(self.weight, ids)

    def extra_repr(self):
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim}


def training_flag(graph=None) -> Placeholder:
    """The graph's `training` flag: a bool Placeholder that is False unless fed.

    Layers that act differently in training (Dropout) read it, so one graph
    serves both: feed `{sg.nn.training_flag(): True}` in the training runs and
    nothing in the evaluation runs.
    """
    graph = graph or get_default_graph()
    flag = graph.collections.get("training")
    if flag is None:
        with graph.as_default(), graph._scope_exactly(""):
            flag = Placeholder((), dtype="bool", name="training", default=False)
        graph.collections["training"] = flag
    return flag


class Dropout(Module):
    """While training, zero each element with probability p and scale the rest by 1/(1-p).

    Active only in runs that feed `sg.nn.training_flag()` True; otherwise it
    passes x through, so evaluation needs no change to the graph.
    """

    def __init__(self, p=0.5, rng=None, seed=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
            seed, rng = rng, None  # an int is a seed, as for the other layers
        self._rng = rng  # the user's own stream, if given
        # with a seed, each use of the layer gets a seed of its own drawn from this:
        # one layer applied twice must not drop the same elements twice
        self._seeds = np.random.default_rng(seed) if seed is not None else None

    def forward(self, x):
        x = as_node(x)
        if not is_float(x.dtype):
            raise ShapeError(
                f"Dropout of {x.name} ({x.dtype}): dropout scales what it keeps by 1/(1-p), "
                "so it needs float values",
                node=x,
                hint="cast first: sg.cast(x, 'float32')",
            )
        seed = None if self._seeds is None else int(self._seeds.integers(2**63))
        training = training_flag(x.graph)
        # drawn only in training runs: an evaluation run leaves the stream as it was
        noise = random_uniform(x, rng=self._rng, seed=seed, active=training)
        dropped = where(greater_equal(noise, self.p), x * (1.0 / (1.0 - self.p)), 0)
        return where(training, dropped, x)

    def extra_repr(self):
        return {"p": self.p}


class Sequential(Module):
    """Modules applied one after another: Sequential(Linear(2, 8), Tanh(), Linear(8, 1))."""

    opens_scope = False  # each layer inside has its own scope already

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__} at position {i}")
            setattr(self, str(i), m)  # registered as '0', '1', ...: names as in PyTorch
        # the same layers in order, for forward; set past __setattr__, which would
        # register each a second time as 'layers.0', ...
        object.__setattr__(self, "layers", list(modules))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)
