"""The pipeline: lower, run each pass in order, schedule. Every step is recorded.

`compile_steps` returns the Program and the list of steps, each an IR with
the Report of the pass that produced it; `sg.compile` returns just the
Program. Passes can be switched off by name (`disable=["prune"]`), and
`disable="all"` runs none of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import networkx as nx
import numpy as np

from symgraph.compiler.ir import check_feeds_present, lower
from symgraph.compiler.passes import PASSES
from symgraph.compiler.program import Program
from symgraph.compiler.report import Report
from symgraph.compiler.schedule import schedule
from symgraph.compiler.specialize import specialize
from symgraph.errors import FeedError, FetchError, GraphError, SymgraphError, shape_str
from symgraph.graph import Node, paused_gc
from symgraph.ops.base import shapes_agree


@dataclass
class Step:
    name: str
    ir: nx.DiGraph
    report: Report


def _as_fetch_list(fetches) -> list[Node]:
    """The fetched Nodes in order: one Node, or Nodes in lists, tuples and dicts nested
    as Session.run takes them (a dict's values, in its order)."""
    items, stack = [], [fetches]
    while stack:  # a loop over the structure the user wrote, not recursion
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            items.append(item)
    for f in items:
        if not isinstance(f, Node):
            raise FetchError(
                f"can only compile Nodes, got {type(f).__name__}: {f!r}",
                hint="pass a Node, or Nodes in a list, tuple or dict",
            )
    if items:
        graph = items[0].graph
        for f in items:
            if f.graph is not graph:
                raise GraphError(
                    f"fetches {items[0].name} and {f.name} belong to different Graphs",
                    node=f,
                )
    return items


def compile_steps(fetches, feeds=(), disable=(), keep_steps=True, require_feeds=False):
    """Compile; return (Program, steps). `feeds` lists the fed Nodes, or maps them
    to values (or shapes): then every shape in the Program is made concrete.

    With keep_steps, each step holds its own IR (the passes copy before they
    edit); without, the passes edit one IR in place, which is faster, and the
    steps hold only their reports. With require_feeds, a Placeholder the
    fetches need but `feeds` lacks is a FeedError.
    """
    with paused_gc():
        return _compile_steps(fetches, feeds, disable, keep_steps, require_feeds)


def _compile_steps(fetches, feeds, disable, keep_steps, require_feeds):
    fetch_list = _as_fetch_list(fetches)
    shapes = _fed_shapes(feeds)
    disable = passes_to_skip(disable)
    start = time.perf_counter()
    ir = lower(fetch_list, list(feeds))
    if require_feeds:
        check_feeds_present(ir, list(feeds))
    if shapes:
        specialize(ir, shapes)
    ir.graph["in_place"] = not keep_steps
    steps = [Step("lower", ir if keep_steps else None, Report("lower", seconds=time.perf_counter() - start))]
    before = "lower"
    for name, run_pass in PASSES:
        if name in disable:
            continue
        start = time.perf_counter()
        ir, report = _run_pass(name, run_pass, ir, before)
        report.seconds = time.perf_counter() - start
        before = name
        steps.append(Step(name, ir if keep_steps else None, report))
    return schedule(ir), steps


def _run_pass(name, run_pass, ir, before):
    """One pass, (ir, report) from it; a pass that fails, or returns something else, is
    named, with the step before it: a pass added by hand (tutorial 7) that drops a
    vertex still read shows up as a KeyError in the pass after it."""
    try:
        result = run_pass(ir)
    except SymgraphError:
        raise
    except Exception as e:
        raise GraphError(
            f"compiler pass {name} failed: {type(e).__name__}: {e}",
            hint=f"if {name} or the step before it ({before}) is a pass of your own, check that "
            "it keeps every vertex that is still read, fetched or an update",
        ) from e
    if not (isinstance(result, tuple) and len(result) == 2):
        raise GraphError(
            f"compiler pass {name} returned {type(result).__name__}, not (ir, report)",
            hint="a pass returns the new IR and its Report: return ir, report",
        )
    return result


def passes_to_skip(disable) -> set:
    """The pass names `disable` means ("all", one name, or several), each checked."""
    known = {name for name, _ in PASSES}
    if disable is None:
        return set()
    if disable == "all":
        return known
    if isinstance(disable, str):  # disable="prune" means one pass, not five letters
        disable = [disable]
    unknown = set(disable) - known
    if unknown:
        raise GraphError(
            "no compiler pass named " + ", ".join(f"'{name}'" for name in sorted(unknown)),
            hint="the passes are " + ", ".join(name for name, _ in PASSES) + ", or 'all'",
        )
    return set(disable)


def _fed_shapes(feeds) -> dict:
    """{Node: shape} from a dict of fed values (arrays, or shape tuples); {} for a plain list."""
    if not isinstance(feeds, dict):
        return {}
    shapes = {}
    for node, value in feeds.items():
        if isinstance(value, tuple) and all(isinstance(d, int) for d in value):
            shape = value
        else:
            shape = np.shape(value)
        declared = getattr(node, "shape", None)
        if declared is not None and not shapes_agree(declared, shape):
            raise FeedError(
                f"{node.name} is declared {shape_str(declared)}, but the shape given for it is "
                f"{shape_str(shape)}",
                node=node,
                hint="None in the declared shape takes any size; the other dims must match",
            )
        shapes[node] = shape
    return shapes


def compile(fetches, feeds=(), disable=()) -> Program:  # noqa: A001 - sg.compile, as DESIGN.md names it
    """Compile the part of the graph the fetches need into a Program (print it to read it).

    `feeds` lists the Nodes that will be fed: Placeholders are always expected
    to be fed; list any other Node here to cut the graph at it. Give a dict of
    Node -> value (or shape) instead, and the Program is planned for those shapes.
    """
    program, _ = compile_steps(fetches, feeds, disable, keep_steps=False)
    return program
