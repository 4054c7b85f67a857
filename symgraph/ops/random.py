"""Random numbers inside the graph (for Dropout).

`random_uniform(like)` draws a fresh array of like's shape on every run. Its
seed is an attr; the stream of numbers it draws from is kept by the Session, one
per Node (`new_state`), so each Node has its own stream, and a new Session
starts every stream again from its seed, as TF1 does with an op's seed: the same
graph and seed give the same numbers in every Session, an optimized one and a
`disable="all"` one alike. (A Generator given as `rng=` is the user's own stream
instead, and goes on from wherever it is.) The op is `stateful`: two such Nodes
are never merged by the compiler, however alike they look.
"""

from __future__ import annotations

import functools

import numpy as np

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import Constant, Node, make_node
from symgraph.ops.base import Op, is_float
from symgraph.ops.shape import broadcast_to


class RandomUniform(Op):
    """Uniform numbers in [0, 1) of like's shape (read at run time) and float dtype."""

    fresh_output = True  # returns a new array, never a view of an input

    differentiable = False
    stateful = True

    def infer(self, like, active=None, *, seed, rng):
        if active is not None and (active.shape != () or active.dtype != np.dtype(bool)):
            raise ShapeError(
                f"random_uniform's `active` must be one bool, got {active.name} "
                f"{shape_str(active.shape)} {active.dtype}",
                hint="pass a bool Placeholder of shape (), such as sg.nn.training_flag()",
            )
        return like.shape, like.dtype if is_float(like.dtype) else np.dtype("float32")

    def new_state(self, *, seed, rng):
        """The stream a Session keeps for one Node, from its first run on: a Generator
        started from the seed, or the user's own Generator."""
        return rng if rng is not None else np.random.default_rng(seed)

    def save_state(self, state):
        return state.bit_generator.state  # a dict: where the stream is

    def restore_state(self, state, saved) -> None:
        state.bit_generator.state = saved

    def forward(self, like, active=None, *, seed, rng, state=None):
        dtype = like.dtype if like.dtype.kind == "f" else np.float32
        if active is not None and not active:
            return np.zeros(np.shape(like), dtype=dtype)  # not drawn: the stream stays put
        generator = state if state is not None else self.new_state(seed=seed, rng=rng)
        if dtype == np.float16:  # NumPy draws only float32 and float64: float32, then narrowed
            return generator.random(np.shape(like), dtype=np.float32).astype(np.float16)
        return generator.random(np.shape(like), dtype=dtype)

    def kernel(self, *, seed, rng, state=None):
        """`state` is the Session's stream for this Node; without one (a Program run
        on its own) the kernel keeps a stream of its own."""
        if state is None:
            state = self.new_state(seed=seed, rng=rng)
        return functools.partial(self.forward, seed=seed, rng=rng, state=state)

    def backward(self, node, grad):
        return (None,) * len(node.inputs)


def random_uniform(like, rng=None, seed=None, name=None, active=None) -> Node:
    """Fresh uniform [0, 1) numbers shaped like `like` on every run.

    `like` is a Node (its shape, and its dtype if a float, else float32), or a shape,
    a tuple of ints, as TF1's tf.random_uniform takes: float32 numbers of that shape.

    Give `seed` (each new Session starts from it again), or `rng`, a numpy
    Generator of your own (its stream goes on across Sessions). With neither,
    the seed is drawn from sg.nn.init's shared generator, so sg.nn.init.seed(n)
    fixes it. With `active`, a bool Node, a run where it is False draws nothing (and
    gives zeros): Dropout passes its training flag, so that evaluation runs leave
    the stream, and so the next training step's numbers, as they were.
    """
    if isinstance(like, (tuple, list)) and all(isinstance(d, (int, np.integer)) for d in like):
        # a shape: a float32 zero seen in that shape, a view that holds no memory
        like = broadcast_to(Constant(np.float32(0.0), name="zeros"), tuple(int(d) for d in like))
    if rng is None and seed is None:
        from symgraph.nn import init  # the shared, seedable generator

        seed = int(init.generator().integers(2**63))
    inputs = (like,) if active is None else (like, active)
    return make_node(RandomUniform(), inputs, {"seed": seed, "rng": rng}, name=name)
