"""Helpers the compiler tests share (tests/ is on sys.path: `from _ir import snapshot`)."""

from __future__ import annotations


def snapshot(ir):
    """Everything a pass could change in an IR, as plain values, to compare before and after
    (a pass must never edit the IR it is given)."""
    nodes = {
        k: (d["name"], d["op"].name, tuple(d["inputs"]), d["shape"], d["kind"])
        for k, d in ir.nodes(data=True)
    }
    return nodes, sorted(ir.edges), list(ir.graph["fetches"]), list(ir.graph["updates"])
