"""What a picture is drawn from: a list of vertex records, one per thing drawn.

Every target `to_dot` accepts (a Node, a list of Nodes, a Graph, a compiled
Program, a compiler IR) is first turned into a list of `Vertex` records, in a
fixed order (creation order for Nodes, listing order for a Program). The
drawing code only ever sees these records, so a picture of a compiler step
is drawn by the very same code as a picture of the user's Graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symgraph.autodiff import ancestors
from symgraph.errors import RenderError
from symgraph.graph import Graph, Node, Placeholder, Variable

KINDS = ("placeholder", "variable", "constant", "op")
ORIGINS = ("forward", "gradient", "update")


@dataclass
class Vertex:
    """One thing to draw. `key` is unique in its list; `inputs` are keys, in argument order."""

    key: object
    kind: str  # one of KINDS
    op: str  # the op's name: "matmul", "placeholder", ...
    name: str  # scoped name, 'dense1/matmul'; its scopes become clusters
    origin: str = "forward"  # one of ORIGINS
    inputs: tuple = ()
    shape: tuple | None = None
    dtype: str | None = None
    grad_of: object = None  # key of the forward vertex this one helps differentiate
    highlight: str | None = None  # e.g. "added", "merged", "replaced", "removed"
    note: str | None = None  # an extra line: a slot number, a value
    value: object = None  # a Constant's value, shown as its label
    fetched: bool = False  # an output of the picture: drawn with a double border
    node: Node | None = None  # the user's Node behind it, if any (to look up run values)

    @property
    def scope(self) -> str:
        """'dense1' for 'dense1/matmul', '' for a name without a scope."""
        return self.name.rpartition("/")[0]


def _kind_of_node(node: Node) -> str:
    if isinstance(node, Placeholder) or node.op.name == "placeholder":
        return "placeholder"
    if isinstance(node, Variable) or node.op.name == "variable":
        return "variable"
    if node.op.name == "constant":
        return "constant"
    return "op"


def _dtype_name(dtype) -> str | None:
    return None if dtype is None else np.dtype(dtype).name


# `ancestors(roots)`: the roots and every Node they depend on, in creation order;
# autodiff's walk (iterative, no recursion), imported above so there is one of it.


def from_nodes(nodes: list[Node], fetched=()) -> list[Vertex]:
    """Records for these Nodes (in creation order); inputs outside the list are left out."""
    inside = set(nodes)
    fetched = set(fetched)
    records = []
    for node in nodes:
        grad_of = node.grad_of if node.grad_of in inside else None
        records.append(
            Vertex(
                key=node,
                kind=_kind_of_node(node),
                op=node.op.name,
                name=node.name,
                origin=node.origin,
                inputs=tuple(i for i in node.inputs if i in inside),
                shape=node.shape,
                dtype=_dtype_name(node.dtype),
                grad_of=grad_of,
                value=getattr(node, "value", None) if node.op.name == "constant" else None,
                fetched=node in fetched,
                node=node,
            )
        )
    return records


def from_program(program) -> list[Vertex]:
    """Records for a compiled Program, in listing order; a slot number is each one's note."""
    records = []
    node_slot = {}
    for slot, node in program.feeds:
        node_slot[node] = slot
        records.append(_leaf_record(slot, "placeholder", node))
    for slot, var in program.variables:
        node_slot[var] = slot
        records.append(_leaf_record(slot, "variable", var))
    for entry in program.constants:
        slot, value = entry[0], entry[1]
        node = value if isinstance(value, Node) else None
        if node is not None:
            value = getattr(node, "value", None)
        records.append(
            Vertex(
                key=slot,
                kind="constant",
                op="constant",
                name=node.name if node is not None else f"%{slot}",
                origin=node.origin if node is not None else "forward",
                shape=tuple(np.shape(value)),
                dtype=_dtype_name(np.asarray(value).dtype),
                value=value,
                note=f"%{slot}",
                node=node,
            )
        )
    for inst in program.instructions:
        if inst.node is not None:
            node_slot[inst.node] = inst.out
    fetches = set(program.fetches)
    for inst in program.instructions:
        node = inst.node
        grad_of = (
            node_slot.get(node.grad_of) if node is not None and node.grad_of is not None else None
        )
        records.append(
            Vertex(
                key=inst.out,
                kind="op",
                op=inst.op.name,
                name=inst.name,
                origin=inst.origin,
                inputs=tuple(inst.args),
                shape=inst.shape,
                dtype=_dtype_name(inst.dtype),
                grad_of=grad_of,
                note=f"%{inst.out}",
                fetched=inst.out in fetches,
                node=node,
            )
        )
    for record in records:
        if record.kind != "op" and record.key in fetches:
            record.fetched = True
    return records


def _leaf_record(slot, kind, node) -> Vertex:
    return Vertex(
        key=slot,
        kind=kind,
        op=node.op.name,
        name=node.name,
        origin=node.origin,
        shape=node.shape,
        dtype=_dtype_name(node.dtype),
        note=f"%{slot}",
        node=node,
    )


_IR_KINDS = {"feed": "placeholder", "variable": "variable", "constant": "constant", "op": "op"}


def from_ir(ir) -> list[Vertex]:
    """Records for a compiler IR (a networkx.DiGraph of compiler/ir.py), in key order."""
    keys = sorted(ir.nodes)
    node_key = {}
    for key in keys:
        node = ir.nodes[key].get("node")
        if node is not None:
            node_key[node] = key
    fetches = set(ir.graph.get("fetches", ()))
    records = []
    for key in keys:
        data = ir.nodes[key]
        node = data.get("node")
        op = data["op"]
        op_name = getattr(op, "name", str(op))
        kind = _IR_KINDS.get(data.get("kind"), "op")
        value = None
        if kind == "constant":
            value = data.get("value", getattr(node, "value", None))
        grad_of = (
            node_key.get(node.grad_of) if node is not None and node.grad_of is not None else None
        )
        records.append(
            Vertex(
                key=key,
                kind=kind,
                op=op_name,
                name=data.get("name") or f"{op_name}_{key}",
                origin=data.get("origin", "forward"),
                inputs=tuple(data.get("inputs", ())),
                shape=data.get("shape"),
                dtype=_dtype_name(data.get("dtype")),
                grad_of=grad_of,
                value=value,
                fetched=key in fetches,
                node=node,
            )
        )
    return records


def vertices_of(target) -> list[Vertex]:
    """Turn any target `to_dot` accepts into vertex records; a RenderError says what it accepts."""
    from symgraph.compiler.program import Program

    if isinstance(target, Node):
        return from_nodes(ancestors([target]), fetched=[target])
    if isinstance(target, Graph):
        return from_nodes(target.nodes)
    if isinstance(target, Program):
        return from_program(target)
    if _is_ir(target):
        return from_ir(target)
    ir = getattr(target, "ir", None)  # a step of sg.explain: the IR after it
    if ir is not None and _is_ir(ir):
        return from_ir(ir)
    if isinstance(target, (list, tuple)):
        if target and all(isinstance(v, Vertex) for v in target):
            return list(target)
        if target and all(isinstance(n, Node) for n in target):
            graph = target[0].graph
            for n in target:
                if n.graph is not graph:
                    raise RenderError(
                        f"cannot draw Nodes of two Graphs in one picture: "
                        f"'{target[0].name}' and '{n.name}'",
                        hint="draw each Graph on its own",
                    )
            return from_nodes(ancestors(target), fetched=target)
    raise RenderError(
        f"cannot draw {type(target).__name__}: {_short_repr(target)}",
        hint="draw a Node, a non-empty list of Nodes (with their ancestors), a Graph, "
        "a Program from sg.compile, or a step of sg.explain",
    )


def _is_ir(target) -> bool:
    try:
        import networkx as nx
    except ImportError:  # pragma: no cover - networkx is a dependency
        return False
    return isinstance(target, nx.DiGraph)


def _short_repr(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."
