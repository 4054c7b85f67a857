"""Scheduling: put the IR's vertices in a run order and work out when each value dies.

Order: networkx's topological sort, ties broken by creation order, so the
same graph always gives the same Program. Liveness: a value can be dropped
right after the last instruction that reads it, unless it is fetched. Dropping
it lets NumPy give the memory back while the run goes on.
"""

from __future__ import annotations

import networkx as nx

from symgraph.compiler.memory import plan_memory
from symgraph.compiler.program import Instruction, Program
from symgraph.compiler.rewrite import topological


def schedule(ir: nx.DiGraph) -> Program:
    # IR keys are ints in creation order (a pass that adds a vertex takes a
    # fresh, larger key), so sorting ties by key keeps the user's order.
    order = list(topological(ir))
    slot = {key: i for i, key in enumerate(order)}  # one value slot per vertex

    # last_use[key] = position of the last instruction that reads it
    last_use = {}
    for pos, key in enumerate(order):
        for i in ir.nodes[key]["inputs"]:
            last_use[i] = pos
    # Fetched values and the new values of Variables must survive to the end.
    fetched = set(ir.graph["fetches"]) | set(ir.graph["updates"])
    frees: dict[int, list[int]] = {}
    for key, pos in last_use.items():
        if key not in fetched and ir.nodes[key]["kind"] == "op":
            frees.setdefault(pos, []).append(slot[key])

    program = Program()
    groups = []  # the slots of `group` ops (a training step's "all updates done")
    for pos, key in enumerate(order):
        data = ir.nodes[key]
        program.names[pos] = data["name"]  # slot == pos: one slot per vertex, in run order
        if data["op"].name == "group":
            groups.append(pos)
        kind = data["kind"]
        if kind == "feed":
            program.feeds.append((slot[key], data["node"]))
            program.feed_shapes[slot[key]] = data["shape"]  # as fed, when specialized
        elif kind == "variable":
            program.variables.append((slot[key], data["node"]))
        elif kind == "constant":
            value = data["value"] if "value" in data else data["node"].value
            program.constants.append((slot[key], value))
        else:
            program.instructions.append(
                Instruction(
                    out=slot[key],
                    op=data["op"],
                    args=tuple(slot[i] for i in data["inputs"]),
                    attrs=data["attrs"],
                    name=data["name"],
                    shape=data["shape"],
                    dtype=data["dtype"],
                    origin=data["origin"],
                    node=data["node"],
                    free=tuple(sorted(frees.get(pos, ()))),
                )
            )
    program.n_slots = len(order)
    program.fetches = [slot[k] for k in ir.graph["fetches"]]
    program.updates = [
        (ir.nodes[ir.nodes[k]["inputs"][0]]["node"], slot[k]) for k in ir.graph["updates"]
    ]
    program.update_slots = {slot[k] for k in ir.graph["updates"]} | set(groups)
    program.memory = plan_memory(program)
    program.finish()
    return program

