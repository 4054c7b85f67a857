"""Figures about a Program: how many values, which ops, and an estimate of the arithmetic.

Each op estimates its own FLOPs (`Op.flops`); the default is one per output
element, matmul counts 2·m·n·k. The estimates are for comparing steps of a
compile, not for predicting run time.
"""

from __future__ import annotations

import contextlib
from collections import Counter

import numpy as np


class _Shape:
    """What an op's flops() reads of a value and its inputs: shape, dtype, attrs, inputs."""

    def __init__(self, shape, dtype, attrs=None, inputs=()):
        self.shape, self.dtype, self.attrs, self.inputs = shape, dtype, attrs or {}, inputs


def program_stats(program) -> dict:
    """{"nodes": values, "ops": {op name: count}, "flops": estimate}, read off the instructions."""
    shapes = {}
    for slot, node in program.feeds:
        shapes[slot] = _Shape(program.feed_shapes.get(slot, node.shape), node.dtype)
    for slot, var in program.variables:
        shapes[slot] = _Shape(var.shape, var.dtype)
    for slot, value in program.constants:
        array = np.asarray(value)
        shapes[slot] = _Shape(array.shape, array.dtype)
    ops = Counter()
    flops = 0
    for inst in program.instructions:
        inputs = [shapes[a] for a in inst.args if a in shapes]
        shapes[inst.out] = _Shape(inst.shape, inst.dtype, inst.attrs, inputs)
        ops[inst.op.name] += 1
        with contextlib.suppress(Exception):  # an estimate that needs more than shapes counts as 0
            flops += int(inst.op.flops(shapes[inst.out]))
    return {"nodes": program.n_slots, "ops": dict(sorted(ops.items())), "flops": flops}
