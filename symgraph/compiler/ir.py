"""Lowering: the part of a Graph that some fetches need, copied into an IR.

The IR is a `networkx.DiGraph`. Each vertex is keyed by its Node's id and
carries what the passes need to know about it:

    op, inputs (ordered vertex keys), attrs, shape, dtype, name, origin,
    kind ("feed", "variable", "constant" or "op"), node (the user's Node)

Edges run from an input to its consumer. They say *that* a vertex uses
another; the ordered `inputs` list says *how* (x * x has one edge but two
inputs). Passes build new IRs and never touch the user's Graph.

The graph-level attributes are `fetches` (keys, in the order asked) and
`updates` (keys of the Assign vertices the fetches trigger).
"""

from __future__ import annotations

import networkx as nx

from symgraph.autodiff import ancestors
from symgraph.errors import FeedError, GraphError
from symgraph.graph import Node, Placeholder, Variable


def _kind(node: Node, fed: bool) -> str:
    if fed or isinstance(node, Placeholder):
        return "feed"
    if isinstance(node, Variable):
        return "variable"
    if node.op.name == "constant":
        return "constant"
    return "op"


def lower(fetches: list[Node], feeds=()) -> nx.DiGraph:
    """Copy into a new IR every Node the fetches need; a fed Node's inputs are not needed."""
    fed = set(feeds)
    ir = nx.DiGraph()
    # In creation order, the order every pass walks in: vertices next to each other in
    # that order are then next to each other in memory, and topological() sorts quickly.
    ir.add_nodes_from(_vertex(node, node in fed) for node in ancestors(fetches, stop=fed))
    edges = [(i, key) for key, data in ir.nodes(data=True) for i in data["inputs"]]
    ir.add_edges_from(edges)  # all at once: networkx does its bookkeeping once, not per edge
    # Creation ids already form a topological order unless inputs were edited by hand.
    ir.graph["ids_are_topological"] = all(u < v for u, v in edges)
    ir.graph["fetches"] = [f.id for f in fetches]
    # In creation order, as the vertices are, so messages and listings follow it.
    ir.graph["updates"] = [k for k, d in ir.nodes(data=True) if d["op"].name == "assign"]
    _check_acyclic(ir)
    _check_updates(ir)
    return ir


def _vertex(node: Node, is_fed: bool) -> tuple[int, dict]:
    """(key, data) of the vertex for `node`: its id, and what the passes read."""
    kind = _kind(node, is_fed)
    data = dict(
        op=node.op,
        inputs=[] if is_fed else [i.id for i in node.inputs],
        attrs=dict(node.attrs),  # the IR's own copy: a pass that edits it leaves the Node alone
        shape=node.shape,
        dtype=node.dtype,
        name=node.name,
        origin=node.origin,
        kind=kind,
        node=node,
    )
    if kind == "feed" and not is_fed and getattr(node, "default", None) is not None:
        data["kind"], data["value"] = "constant", node.default  # not fed: use its default
    return node.id, data


def _check_acyclic(ir: nx.DiGraph) -> None:
    """Nodes cannot form a cycle through the API, but inputs edited by hand can."""
    if ir.graph["ids_are_topological"] or nx.is_directed_acyclic_graph(ir):
        return
    cycle = nx.find_cycle(ir)
    names = " -> ".join([ir.nodes[u]["name"] for u, _ in cycle] + [ir.nodes[cycle[0][0]]["name"]])
    raise GraphError(
        f"the graph has a cycle: {names}",
        node=ir.nodes[cycle[0][0]]["node"],
        hint="a Node's inputs must be built before it; do not edit node.inputs by hand",
    )


def _check_updates(ir: nx.DiGraph) -> None:
    """Two updates of one Variable in one run would make the result depend on order."""
    seen = {}
    for key in ir.graph["updates"]:
        data = ir.nodes[key]
        var = data["inputs"][0]
        if var in seen:
            first = ir.nodes[seen[var]]["node"]
            raise GraphError(
                f"Variable {ir.nodes[var]['name']} is updated twice in one run: by "
                f"{first.name} and by {data['name']}",
                node=data["node"],
                hint="combine the two changes into one sg.assign, or run them in separate runs",
            )
        seen[var] = key


def check_feeds_present(ir: nx.DiGraph, feed_dict_nodes) -> None:
    """Every feed vertex the fetches need must be fed; say which fetch needs it."""
    fed = set(feed_dict_nodes)
    for key in sorted(ir.nodes):  # name the first-created missing feed
        data = ir.nodes[key]
        if data["kind"] == "feed" and data["node"] not in fed:
            needer = next(
                (ir.nodes[f]["name"] for f in ir.graph["fetches"] if nx.has_path(ir, key, f)),
                "the fetches",
            )
            raise FeedError(
                f"Placeholder {data['name']} {_shape(data)} is needed to compute {needer} "
                "but was not fed",
                node=data["node"],
                hint=f"feed it: add it to feed_dict, {{{data['name'].rsplit('/', 1)[-1]}: array}}, "
                "or to make_callable's feed_list",
            )


def _shape(data) -> str:
    from symgraph.errors import shape_str

    return shape_str(data["shape"])
