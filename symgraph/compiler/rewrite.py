"""Small tools the passes share for editing an IR (always a copy, never the user's Graph).

- `add_vertex` makes a new vertex with a fresh key (larger than every other,
  so the schedule's tie-break by key puts it after the user's Nodes);
- `replace_uses` points every consumer of one vertex (and the fetch list) at another,
  `replace_all` does that for many at once;
- `remove_dead` drops vertices nothing needs any more, and reports them;
- `constant_value` / `is_constant` read Constants;
- `op_name` says which op computes a vertex, for rules that match patterns.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np


def start(ir: nx.DiGraph) -> nx.DiGraph:
    """The copy a pass works on. Vertex data dicts are copied too, so edits stay in the copy.

    When nobody keeps the steps (a Session compiling for itself sets
    `ir.graph["in_place"]`), the copy is skipped: no one will look at the IR
    before the pass, so the pass may edit it directly. `sg.explain` keeps
    every step, and gets a copy per pass.
    """
    out = ir if ir.graph.get("in_place") else _copy(ir)
    if "next_key" not in out.graph:  # once: setdefault(..., max(...)) would scan on every pass
        out.graph["next_key"] = (max(ir.nodes) + 1) if len(ir) else 0
    return out


def _copy(ir: nx.DiGraph) -> nx.DiGraph:
    out = nx.DiGraph()
    out.graph.update(ir.graph)
    out.graph["fetches"] = list(ir.graph["fetches"])
    out.graph["updates"] = list(ir.graph["updates"])
    for key, data in ir.nodes(data=True):
        copied = dict(data)
        copied["inputs"] = list(data["inputs"])
        copied["attrs"] = dict(data["attrs"])  # a pass may edit attrs too: not the step before's
        out.add_node(key, **copied)
    out.add_edges_from(ir.edges)
    return out


def add_vertex(ir, *, op, inputs, attrs=None, shape, dtype, name, origin="forward",
               kind="op", value=None, node=None, order=None, at=None) -> int:
    """A new vertex. `order` is the key of the vertex it stands in for, so the
    schedule puts it where that one was, not at the end (see `position`). Or `at`,
    a run position itself, for a vertex that goes somewhere else (split_rows puts
    one just before the first vertex that reads it)."""
    key = ir.graph["next_key"]
    ir.graph["next_key"] = key + 1
    data = dict(op=op, inputs=list(inputs), attrs=attrs or {}, shape=tuple(shape),
                dtype=np.dtype(dtype), name=name, origin=origin, kind=kind, node=node)
    if order is not None:
        data["order"] = position(ir, order)
    elif at is not None:
        data["order"] = tuple(at)
    if value is not None or kind == "constant":
        data["value"] = value
    ir.add_node(key, **data)
    for i in set(inputs):
        ir.add_edge(i, key)
    return key


def position(ir, key) -> tuple:
    """Where `key` sorts in the run order: (key,) for a vertex lowered from the user's
    graph; for a vertex a pass added, the position of the vertex it stands in for
    (its 'order'), then its own key.

    A whole tuple, not just the stood-in key: a vertex can stand in for one that
    was itself added (fuse replacing a vertex stabilize made), and must then sort
    just after that one, before the other vertices added for the same original.

    Tuples compare item by item, so a pass can also name a place between two
    vertices (`just_before`, `right_after`) and give it as add_vertex's `at`.
    """
    data = ir.nodes[key]
    return data["order"] + (key,) if "order" in data else (key,)


def just_before(where: tuple) -> tuple:
    """A run position right before `where`, after everything that sorts before it:
    half a number less in the last item, so (412 - 0.5,) sorts after everything at
    411 and before 412 and whatever stands in for it."""
    return where[:-1] + (where[-1] - 0.5,)


def right_after(where: tuple) -> tuple:
    """A run position after `where` and after anything a later pass puts in its
    place: a stand-in sorts at `where` followed by its own number, and infinity sorts
    after every number, so (405, inf) comes after (405, 900) too."""
    return where + (math.inf,)


def topological(ir) -> list:
    """The vertices in a topological order; ties go to the earlier-created (as the user wrote it).

    A Node's inputs are always created before it, so sorting by creation id is
    already a topological order, and costs only a sort. A vertex a pass adds
    sorts right after the vertex it stands in for (see `position`); its inputs
    come from before that vertex, so the order stays valid. Only a graph whose
    inputs were edited by hand breaks the rule; lowering notices, and then
    networkx's general topological sort is used.
    """
    if ir.graph.get("ids_are_topological", True):
        # position() inlined, over (key, order) pairs: this runs once per pass, on every vertex
        pairs = sorted(ir.nodes(data="order"), key=_where)
        return [key for key, _ in pairs]
    return list(nx.lexicographical_topological_sort(ir, key=lambda k: position(ir, k)))


def _where(pair) -> tuple:
    """position() of a (key, its "order" or None) pair."""
    key, order = pair
    return (key,) if order is None else order + (key,)


def set_inputs(ir, key, inputs) -> None:
    """Give a vertex new inputs, keeping the edges in step."""
    for i in list(ir.predecessors(key)):
        ir.remove_edge(i, key)
    ir.nodes[key]["inputs"] = list(inputs)
    for i in set(inputs):
        ir.add_edge(i, key)


def replace_uses(ir, old, new) -> None:
    """Every consumer of `old` now reads `new`; a fetch of `old` now fetches `new`."""
    if old != new:
        replace_all(ir, {old: new})


def replace_all(ir, new_of: dict) -> None:
    """`replace_uses` for many vertices at once (no new vertex may itself be replaced).

    Each consumer's inputs are rewritten once, however many of them are replaced:
    replaced one by one, the 10,000 inputs of an unrolled RNN's concatenation
    would each cost a pass over all 10,000, a quadratic compile.
    """
    consumers = {}  # an ordered set
    for old, new in new_of.items():
        for consumer in list(ir.successors(old)):
            consumers[consumer] = None
            ir.remove_edge(old, consumer)
            ir.add_edge(new, consumer)
    for consumer in consumers:
        data = ir.nodes[consumer]
        data["inputs"] = [new_of.get(i, i) for i in data["inputs"]]
    # A pass may call this once per vertex it replaces, and a model may fetch a value per
    # step: rewriting the whole fetch list each time made such a pass quadratic. So it is
    # only searched (isdisjoint does that in C), and rewritten if a fetched vertex was replaced.
    if not new_of.keys().isdisjoint(ir.graph["fetches"]):
        ir.graph["fetches"] = [new_of.get(f, f) for f in ir.graph["fetches"]]


def remove_dead(ir, report, rule="no longer used") -> None:
    """Drop vertices nothing reads that are neither fetched nor updates; cascade to their inputs."""
    keep = set(ir.graph["fetches"]) | set(ir.graph["updates"])
    # merged or replaced: said once is enough; but a vertex this pass added that is dead
    # now (a log_softmax the cross-entropy rule then absorbed) is reported removed too
    already = {c.key for c in report.changes if c.kind in ("merged", "replaced")}
    # adjacency() hands over each vertex's consumers as they are, where readers(k)
    # would make a view object for each vertex: this line runs once per pass, on all of them
    work = [k for k, consumers in ir.adjacency() if not consumers and k not in keep]
    work.reverse()  # popped from the end: the earliest-made is removed, and reported, first
    while work:
        key = work.pop()
        if key not in ir or readers(ir, key) or key in keep:
            continue
        inputs = list(ir.predecessors(key))
        if key not in already:
            report.add("removed", key, ir.nodes[key]["name"], rule)
        ir.remove_node(key)
        work.extend(inputs)


def readers(ir, key) -> int:
    """How many vertices read `key`: its out-degree.

    Counted from the adjacency, not with `ir.out_degree(key)`: networkx keeps that
    view object on the graph, and the view points back at the graph. That reference
    cycle would keep a whole IR alive after its compile until Python's cycle
    collector ran (paused while compiling, see `paused_gc`), instead of reference
    counting freeing it at once; the collector then had to walk all of it."""
    return len(ir.succ[key])


def op_name(ir, key) -> str:
    """The name of the op that computes `key` in this run, for a rule to match on.

    For a feed, Variable or constant it is the vertex's kind instead: a Node the user
    feeds keeps its op (say, softmax) but is not computed, and has no inputs, so no
    rule may treat it as that op; nor a vertex fold has made a constant.
    """
    data = ir.nodes[key]
    return data["op"].name if data["kind"] == "op" else data["kind"]


def constant_value(ir, key):
    """The value of a constant vertex (a Python number for a weak one), else None."""
    data = ir.nodes[key]
    if data["kind"] != "constant":
        return None
    return data["value"] if "value" in data else data["node"].value


def is_constant(ir, key, number) -> bool:
    """True when `key` is a constant whose every element equals `number`."""
    value = constant_value(ir, key)
    if value is None:
        return False
    array = np.asarray(value)
    return array.size > 0 and bool(np.all(array == number))


def is_weak(ir, key) -> bool:
    data = ir.nodes[key]
    return data["kind"] == "constant" and "value" not in data and data["node"].weak
