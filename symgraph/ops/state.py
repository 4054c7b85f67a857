"""Update ops: the only way a graph changes state.

`assign(var, value)` computes the Variable's next value; the Session stores
it only when the whole run has succeeded (a run is a transaction), so every
op in the run reads the value the Variable had when the run started.
`group(*updates)` bundles several updates into one Node, as an optimizer's
`minimize()` returns. Fetching an update Node answers None.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import UPDATE, Node, Variable, checks_for, make_node
from symgraph.ops.base import Op, check_numbers_fit, shapes_agree


class Assign(Op):
    """Compute the next value of a Variable; the Session commits it after the run."""

    differentiable = False
    is_update = True

    def infer(self, var, value):
        if not isinstance(var, Variable):
            raise ShapeError(
                f"assign needs a Variable to update, got {var.name} ({var.op.name})",
                hint="only sg.Variable Nodes hold state",
            )
        if not shapes_agree(value.shape, var.shape):
            raise ShapeError(
                f"assign of {value.name} {shape_str(value.shape)} to Variable {var.name} "
                f"{shape_str(var.shape)}: shapes differ",
                hint="a Variable keeps its shape; reshape or reduce the new value",
            )
        if not np.can_cast(value.dtype, var.dtype, "same_kind"):
            raise ShapeError(
                f"assign of {value.name} ({value.dtype}) to Variable {var.name} ({var.dtype}): "
                "cannot cast safely",
                hint=f"cast the value with sg.cast(value, '{var.dtype}')",
            )
        check_numbers_fit([value], [var.dtype])  # assign(int8_v, 300) would wrap to 44
        # the Variable's next value, which the kernel passes on to the commit (fetched,
        # an update answers None; no op may read it: make_node refuses)
        return var.shape, var.dtype

    def forward(self, var, value):
        value = np.asarray(value)
        if value.shape != var.shape:
            raise ValueError(
                f"the new value has shape {value.shape} but the Variable has shape {var.shape}"
            )
        return value.astype(var.dtype, copy=False)

    def backward(self, node, grad):
        return (None, None)

    def flops(self, node) -> int:
        return 0


class Group(Op):
    """Several update Nodes as one; it computes nothing itself."""

    differentiable = False
    is_update = True
    takes_updates = True  # the one op that may read update Nodes (make_node refuses others)

    def infer(self, *updates):
        for u in updates:
            if not u.op.is_update:
                raise ShapeError(
                    f"group takes update Nodes (from sg.assign or an optimizer), got "
                    f"{u.name} ({u.op.name})",
                    hint=f"leave {u.name} out of the group; fetch it beside the update, "
                    f"sess.run([{u.name}, step])",
                )
        return (), np.dtype("bool")

    def forward(self, *updates):
        return None

    def backward(self, node, grad):
        return (None,) * len(node.inputs)

    def flops(self, node) -> int:
        return 0


def assign(var, value, name=None) -> Node:
    """An update Node that sets `var` to `value` when the run that fetches it commits."""
    graph = var.graph if isinstance(var, Node) else None
    if graph is None:
        raise ShapeError(f"assign needs a Variable to update, got {var!r}")
    with graph._building(UPDATE):
        return make_node(Assign(), (var, value), name=name or "assign")


def group(*updates, name=None) -> Node:
    """One update Node that applies all of `updates` (a list works too)."""
    if len(updates) == 1 and isinstance(updates[0], (list, tuple)):
        updates = tuple(updates[0])
    if not updates:
        with checks_for(Group(), (), name or "group"):
            raise ShapeError(
                "group needs at least one update Node, got none",
                hint="pass the update Nodes: sg.group(step1, step2), or sg.group(*updates)",
            )
    with updates[0].graph._building(UPDATE):
        return make_node(Group(), updates, name=name or "group")
