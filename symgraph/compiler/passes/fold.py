"""fold: compute at compile time every op whose inputs are all Constants.

`2 * 3 + x` runs `2 * 3` once, now, instead of on every run. The folded
vertex becomes a Constant holding the result (with the dtype the op's shape
rule promised). Ops with state or randomness are never folded, nor update
ops; an op whose kernel fails on its constants, or returns another shape or
dtype than its shape rule said, is left alone, so the run reports the error at
the user's line as usual.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import constant_value, remove_dead, set_inputs, start, topological
from symgraph.ops.base import shapes_agree

#: folding bigger results than this would bloat the Program (e.g. a broadcast to a huge shape)
MAX_FOLDED_ELEMENTS = 1 << 20


def _foldable(ir, key) -> bool:
    data = ir.nodes[key]
    op = data["op"]
    if data["kind"] != "op" or op.stateful or op.is_update:
        return False
    return all(ir.nodes[i]["kind"] == "constant" for i in data["inputs"])


def fold(ir: nx.DiGraph):
    report = Report("fold")
    ir = start(ir)
    for key in list(topological(ir)):
        if not _foldable(ir, key):
            continue
        data = ir.nodes[key]
        args = [constant_value(ir, i) for i in data["inputs"]]
        try:
            with np.errstate(all="ignore"):
                result = data["op"].forward(*args, **data["attrs"])
        except Exception:  # let the run report it, at the user's line
            continue
        result = np.asarray(result)
        if result.size > MAX_FOLDED_ELEMENTS:
            continue
        if result.dtype != data["dtype"] or not shapes_agree(data["shape"], result.shape):
            continue  # a kernel that breaks its shape rule: the run names the op (_check_kernel_result)
        result = result.copy()
        result.flags.writeable = False
        set_inputs(ir, key, [])
        data["kind"] = "constant"
        data["value"] = result
        report.add("replaced", key, data["name"], "all inputs constant: computed now")
    remove_dead(ir, report, "only used by folded ops")
    return ir, report
