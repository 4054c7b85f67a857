"""Specialize: fill in the None dims of an IR from the shapes actually fed.

A Placeholder (None, 784) fed a batch of 128 rows makes every Node computed
from it (128, ...) too. The Session compiles one Program per set of fed
shapes, so within a Program every shape can be concrete, and the memory
planner can then give each value a buffer of the right size, once.

Shapes are worked out again by each op's own shape rule (`infer`), in
topological order, only for the vertices downstream of a changed shape.
A fed shape that does not fit (two batches of different sizes added
together) is reported here as a RunError, before anything runs, naming the op's Node.
"""

from __future__ import annotations

import networkx as nx

from symgraph.compiler.rewrite import topological
from symgraph.errors import RunError, ShapeError, shape_str


class _Shaped:
    """What an op's shape rule reads of its inputs: shape, dtype, name (and weak constants' value)."""

    def __init__(self, data):
        node = data["node"]
        self.shape = data["shape"]
        self.dtype = data["dtype"]
        self.name = data["name"]
        self.op = data["op"]
        self.weak = getattr(node, "weak", False) and "value" not in data
        self.value = data.get("value", getattr(node, "value", None))

    @property
    def ndim(self):
        return len(self.shape)


def specialize(ir: nx.DiGraph, fed_shapes: dict) -> nx.DiGraph:
    """Set the shape of each fed vertex (by Node) and of everything computed from it, in place."""
    changed = set()
    for key, data in ir.nodes(data=True):
        node = data["node"]
        if data["kind"] == "feed" and node in fed_shapes and tuple(fed_shapes[node]) != data["shape"]:
            data["shape"] = tuple(fed_shapes[node])
            changed.add(key)
    if not changed:
        return ir
    for key in topological(ir):
        data = ir.nodes[key]
        if data["kind"] != "op" or not any(i in changed for i in data["inputs"]):
            continue
        # Unchanged inputs are passed as the user's Nodes (some rules check what kind
        # of Node an input is, e.g. assign wants a Variable); changed ones as stand-ins.
        inputs = [
            ir.nodes[i]["node"] if i not in changed and ir.nodes[i]["node"] is not None
            else _Shaped(ir.nodes[i])
            for i in data["inputs"]
        ]
        try:
            shape, _ = data["op"].infer(*inputs, **data["attrs"])
        except ShapeError as e:
            # The graph was fine with None dims; the sizes fed in this run do not fit.
            raise RunError(
                e.headline + " (with the shapes fed in this run)",
                node=data["node"],
                hint=(e.hint + "; " if e.hint else "") + "check the shapes fed; no variable was changed",
            ) from None
        except Exception:
            continue  # a rule that needs more than shapes: keep the shape it had
        shape = tuple(shape)
        if data["op"].elementwise:
            _check_none_dims_do_not_broadcast(ir, key, inputs, shape)
        elif data["op"].name == "matmul":  # a stack's batch dims broadcast too
            _check_none_dims_do_not_broadcast(ir, key, inputs, shape, matrix_dims=True)
        elif data["op"].name == "sum_to" and len(inputs) == 2:  # a gradient, see sum_to_shape
            _check_none_dims_do_not_broadcast(ir, key, inputs[1:], inputs[0].shape, gradient=True,
                                              keys=data["inputs"][1:])
        if shape != data["shape"]:
            _check_known_dims_stay(data, shape)
            data["shape"] = shape
            changed.add(key)
    return ir


def _check_known_dims_stay(data, shape) -> None:
    """A dim known when the graph was built must not change with the sizes fed.

    x[:2] on a (None, 3) Placeholder is (2, 3): it assumes at least 2 rows will come.
    Fed 1 row, NumPy's slice quietly gives 1, and the gradients, shaped (2, 3) when
    they were built, would fail deep in the run, naming an internal Node. Say it here.
    """
    for i, (was, now) in enumerate(zip(data["shape"], shape)):
        if was is not None and now != was:
            raise RunError(
                f"{data['name']} ({data['op'].name}) was built with shape {shape_str(data['shape'])}, "
                f"but with the shapes fed in this run it would have {shape_str(shape)}: dim {i} "
                f"would be {now}, not {was}",
                node=data["node"],
                hint="a size known when the graph is built is assumed in every run (x[:2] "
                "assumes at least 2 rows): feed larger inputs, or build the graph for these "
                "sizes; no variable was changed",
            )


def _check_none_dims_do_not_broadcast(ir, key, inputs, shape, matrix_dims=False, gradient=False,
                                      keys=None) -> None:
    """A dim declared None that is fed 1 must not broadcast against a longer one.

    When the graph was built, a None dim was taken to be "not 1" (it is never
    broadcast), and the gradients were shaped on that assumption; a run that
    broadcasts it anyway would give gradients of the wrong shape. Say so here.
    With matrix_dims (a matmul), only the batch dims of a stack of matrices
    broadcast: each operand's last two dims, and the result's, are left out.
    With gradient (a sum_to of the gradient of inputs[0], whose vertex is keys[0]),
    the op that broadcast is the forward op, which a run fetching only the gradient
    does not have.
    """
    data = ir.nodes[key]
    if matrix_dims:  # the result's own matrix dims: one for each operand of 2 or more dims
        shape = shape[: len(shape) - sum(len(x.shape) >= 2 for x in inputs)]
    for x, key_in in zip(inputs, data["inputs"] if keys is None else keys):
        declared = ir.nodes[key_in]["node"].shape if ir.nodes[key_in]["node"] is not None else None
        if declared is None or len(declared) != len(x.shape):
            continue
        fed = x.shape
        if matrix_dims:
            declared, fed = declared[:-2], fed[:-2]
        offset = len(shape) - len(fed)
        for i, (was, now) in enumerate(zip(declared, fed)):
            if was is None and now == 1 and shape[offset + i] not in (1, None):
                headline = (
                    f"{x.name}'s dim {i}, declared None, was fed size 1, but the op that read "
                    f"{x.name} met size {shape[offset + i]} there, and its gradient was built "
                    "for that size"
                    if gradient
                    else f"{data['op'].name} would broadcast dim {i} of {x.name}, declared None "
                    f"and fed size 1, to size {shape[offset + i]}"
                )
                raise RunError(
                    headline,
                    node=data["node"],
                    hint="a None dim is never broadcast: declare that dim 1 in the Placeholder "
                    "if it is meant to broadcast, or feed a matching size; no variable was changed",
                )
