"""Figures about an IR: how many vertices, which ops, and an estimate of the arithmetic.

Each op estimates its own FLOPs (`Op.flops`); the default is one per output
element, matmul counts 2·m·n·k. The estimates are for comparing steps of a
compile, not for predicting run time.
"""

from __future__ import annotations

import contextlib
from collections import Counter

import numpy as np


class _Shape:
    """What an op's flops() reads of a vertex and its inputs: shape, dtype, attrs, inputs."""

    def __init__(self, data, inputs=()):
        self.shape = data["shape"]
        self.dtype = data["dtype"]
        self.attrs = data["attrs"]
        self.inputs = inputs


def ir_stats(ir) -> dict:
    ops = Counter()
    flops = 0
    for _, data in ir.nodes(data=True):
        if data["kind"] != "op":
            continue
        ops[data["op"].name] += 1
        inputs = [_Shape(ir.nodes[i]) for i in data["inputs"]]
        with contextlib.suppress(Exception):  # an estimate that needs more than shapes counts as 0
            flops += int(data["op"].flops(_Shape(data, inputs)))
    return {"nodes": len(ir), "ops": dict(sorted(ops.items())), "flops": flops}


def program_stats(program) -> dict:
    """The same figures, read off a Program's instructions (every value has a slot)."""
    shapes = {}
    for slot, node in program.feeds + program.variables:
        shapes[slot] = {"shape": node.shape, "dtype": node.dtype, "attrs": {}}
    for slot, value in program.constants:
        array = np.asarray(value)
        shapes[slot] = {"shape": array.shape, "dtype": array.dtype, "attrs": {}}
    ops = Counter()
    flops = 0
    for inst in program.instructions:
        data = {"shape": inst.shape, "dtype": inst.dtype, "attrs": inst.attrs}
        shapes[inst.out] = data
        ops[inst.op.name] += 1
        inputs = [_Shape(shapes[a]) for a in inst.args if a in shapes]
        with contextlib.suppress(Exception):
            flops += int(inst.op.flops(_Shape(data, inputs)))
    return {"nodes": program.n_slots, "ops": dict(sorted(ops.items())), "flops": flops}
