"""cse (common subexpression elimination): compute each distinct value once.

Two vertices with the same op, the same attrs and the same inputs compute
the same value, so every user of the second can read the first. Autodiff
makes many such pairs: the gradient of tanh rebuilds `y * y`, the gradient
of a matmul transposes the same weight that another step transposed.
Equal Constants (same dtype, shape and bytes) merge too. Never merged: feeds,
Variables, update ops and ops with state or randomness (two dropout masks
must differ however alike they look).

One pass in topological order is enough: by the time a vertex is looked at,
its inputs have already been merged, so its signature names them by their
final keys.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import (
    constant_value,
    is_weak,
    remove_dead,
    replace_all,
    start,
    topological,
)
from symgraph.ops.base import has_settings


def _signature(ir, key, merged=None):
    """A hashable description of what `key` computes, or None if it must stay unique.
    Inputs are named by the vertex they were merged into (`merged`), if they were."""
    merged = merged or {}
    data = ir.nodes[key]
    kind, op = data["kind"], data["op"]
    if kind == "constant":
        value = constant_value(ir, key)
        if is_weak(ir, key):
            return ("weak", type(value), repr(value))  # repr: keeps 0.0 and -0.0 apart
        array = np.asarray(value)
        return ("constant", array.dtype.str, array.shape, array.tobytes())
    if kind != "op" or op.stateful or op.is_update:
        return None
    attrs = tuple(sorted(data["attrs"].items()))
    inputs = tuple(merged.get(i, i) for i in data["inputs"])
    # The result's dtype too: attrs that compare equal may still differ in type, and
    # clip(x, 0, 1) of an int x stays int where clip(x, 0.0, 1.0) gives floats.
    # the op itself for one with settings of its own (see Op.__eq__): Scale(2.0) and
    # Scale(3.0) are of one type but compute different things
    return (op if has_settings(op) else type(op), attrs, inputs, data["dtype"].str, data["shape"])


def cse(ir: nx.DiGraph):
    report = Report("cse")
    ir = start(ir)
    first: dict = {}
    merged = {}  # vertex -> the one that computes the same: its uses are redirected at the end
    for key in list(topological(ir)):
        signature = _signature(ir, key, merged)
        if signature is None:
            continue
        try:
            original = first.setdefault(signature, key)
        except TypeError:  # an attr that cannot be hashed after all: leave it alone
            continue
        if original != key:
            report.add("merged", key, ir.nodes[key]["name"], "same op, attrs and inputs",
                       into=ir.nodes[original]["name"])
            merged[key] = original
    replace_all(ir, merged)  # all at once, as fuse does: see replace_all
    remove_dead(ir, report, "merged away")
    return ir, report
