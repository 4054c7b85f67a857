"""prune: keep only the vertices that the fetches and their updates need.

Lowering already copies only what the fetches need, so on a fresh IR this
pass finds nothing to do; it matters after passes that rewire vertices and
leave some unused.
"""

from __future__ import annotations

import networkx as nx

from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import start


def prune(ir: nx.DiGraph):
    report = Report("prune")
    roots = list(ir.graph["fetches"]) + list(ir.graph["updates"])
    needed = set(roots)
    stack = list(roots)
    while stack:
        key = stack.pop()
        for i in ir.nodes[key]["inputs"]:
            if i not in needed:
                needed.add(i)
                stack.append(i)
    out = start(ir)  # never change the IR we were given
    for key in sorted(set(ir.nodes) - needed):
        report.add("removed", key, ir.nodes[key]["name"], "not needed by any fetch")
        out.remove_node(key)
    return out, report
