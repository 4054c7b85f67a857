"""Random numbers inside the graph (for Dropout).

`random_uniform(like)` draws a fresh array of like's shape on every run.
Its NumPy Generator is an attr, so each Node has its own stream and the same
seed gives the same numbers, run after run. The op is `stateful`: two such
Nodes are never merged by the compiler, however alike they look.
"""

from __future__ import annotations

import numpy as np

from symgraph.graph import Node, make_node
from symgraph.ops.base import Op, is_float


class RandomUniform(Op):
    """Uniform numbers in [0, 1) of like's shape (read at run time) and float dtype."""

    fresh_output = True  # returns a new array, never a view of an input

    differentiable = False
    stateful = True

    def infer(self, like, *, rng):
        return like.shape, like.dtype if is_float(like.dtype) else np.dtype("float32")

    def forward(self, like, *, rng):
        dtype = like.dtype if like.dtype.kind == "f" else np.float32
        return rng.random(np.shape(like), dtype=dtype)

    def backward(self, node, grad):
        return (None,)


def random_uniform(like, rng=None, seed=None, name=None) -> Node:
    """Fresh uniform [0, 1) numbers shaped like `like` on every run.

    Give `rng` (a numpy Generator) or `seed`; with neither, the stream is
    seeded from sg.nn.init's shared generator, so sg.nn.init.seed(n) fixes it.
    """
    if rng is None:
        if seed is None:
            from symgraph.nn import init  # the shared, seedable generator

            seed = int(init.generator().integers(2**63))
        rng = np.random.default_rng(seed)
    return make_node(RandomUniform(), (like,), {"rng": rng}, name=name)
