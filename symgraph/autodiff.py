"""Reverse-mode autodiff: `gradients(y, xs)` adds the gradient graph to y's Graph.

The algorithm, in three passes over the Nodes that y depends on:

1. Collect y's ancestors and sort them by creation order. A Node's inputs are
   always older than the Node, so this is a topological order (no recursion,
   no networkx needed).
2. Walk forward and mark which Nodes depend on some x through ops that have a
   gradient. Only those need a gradient.
3. Walk backward from y. Each Node sums the gradient contributions of its
   consumers (a value used twice gets two contributions: "fan-out"), then its
   op's `backward` turns that sum into one contribution per input. A
   contribution is added to the running sum as soon as it is made, as PyTorch
   accumulates into `.grad`: an RNN's weight gets one contribution per step,
   and each can then be dropped right after it is added in, instead of all
   waiting for the sum at the end.

Every gradient is built from ordinary ops, so the result is a graph too, and
can be differentiated again (gradients of gradients).
"""

from __future__ import annotations

import inspect
import os
import traceback

import numpy as np

from symgraph.errors import GradientError, GraphError, SymgraphError, shape_str
from symgraph.graph import GRADIENT, Constant, Node, as_node, paused_gc
from symgraph.ops.base import Op, is_float, shapes_agree
from symgraph.ops.math import cast
from symgraph.ops.shape import zeros_like


def ancestors(roots, stop=()) -> list[Node]:
    """Every Node the roots depend on (roots included), in creation order.

    Iterative depth-first search, so a chain of 100,000 Nodes is no problem;
    Nodes in `stop` are included but not looked through.
    """
    seen: set[Node] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node not in stop:
            stack.extend(node.inputs)
    return sorted(seen, key=lambda n: n.id)


def gradients(y, xs, grad_y=None, unconnected="raise") -> list[Node]:
    """The gradient Nodes d(y)/d(x) for each x in xs, as a list as long as xs.

    y must be a scalar unless `grad_y` (the gradient flowing into y, of y's
    shape) is given. An x that y does not depend on (through ops that have
    gradients) raises a GradientError; with `unconnected="zero"` its gradient is
    zeros instead, and with `unconnected="none"` it is None, as in TF1 (an
    optimizer then leaves that x as it is).
    """
    xs_list = [xs] if isinstance(xs, Node) else list(xs)
    _check_arguments(y, xs_list, unconnected)
    graph = y.graph
    start = len(graph._nodes)
    try:
        # Every Node built here goes to y's graph, also when another is the default
        # (as TF1's tf.gradients does): the gradient rules make Constants of their own.
        with paused_gc(), graph.as_default():  # many new Nodes, none freed: see graph.paused_gc
            results = _build(y, xs_list, grad_y, unconnected)
    except BaseException:
        graph._drop_unused_since(start, [])  # a failed call leaves no half-built gradient behind
        raise
    graph._drop_unused_since(start, [r for r in results if r is not None])
    return results


def _build(y, xs_list, grad_y, unconnected) -> list[Node]:
    """The three passes of the module docstring; `gradients` tidies up after them."""
    graph = y.graph
    scope = graph.unique_name("gradients")  # this call's scope: gradients, gradients_1, ...

    if grad_y is None:
        if y.shape != ():
            raise GradientError(
                f"y has shape {shape_str(y.shape)}; gradients of a non-scalar y need grad_y",
                node=y,
                hint="reduce y to a scalar first (sg.sum or sg.mean), or pass grad_y= of y's shape",
            )
        with graph._building(GRADIENT, grad_of=y), graph._scope_exactly(scope):
            grad_y = Constant(np.ones((), dtype=y.dtype), name="grad_ys")
    else:
        if isinstance(grad_y, Node) and grad_y.graph is not graph:
            raise GradientError(
                f"grad_y {grad_y.name} belongs to another Graph than y {y.name}",
                node=grad_y,
                hint="build grad_y in y's graph, or pass its value (an array)",
            )
        grad_y = as_node(grad_y, graph)
        if not shapes_agree(grad_y.shape, y.shape):
            raise GradientError(
                f"grad_y {grad_y.name} {shape_str(grad_y.shape)} does not have the shape of y "
                f"{y.name} {shape_str(y.shape)}",
                node=grad_y,
                hint="grad_y must have y's shape",
            )

    order = ancestors([y])
    wanted = set(xs_list)
    # depends[n]: n depends on some x through ops that have a gradient. Only float
    # values have gradients: an integer x gets none (as in TF1; PyTorch refuses it)
    depends: dict[Node, bool] = {}
    for n in order:
        for i in n.inputs:
            if i not in depends:  # an input made after its reader: inputs edited by hand
                raise GraphError(
                    f"{n.name} reads {i.name}, which was made after it: the graph's inputs "
                    "were edited by hand, and may form a cycle",
                    node=n,
                    hint="a Node's inputs must be built before it; do not edit node.inputs by hand",
                )
        depends[n] = is_float(n.dtype) and (
            n in wanted or (n.op.differentiable and any(depends[i] for i in n.inputs))
        )

    contributions: dict[Node, list[Node]] = {y: [grad_y]}
    plain_at: dict[Node, int] = {y: 0}  # where in contributions[x] the running sum is (_add_in)
    found: dict[Node, Node] = {}
    with graph._building(GRADIENT):
        for node in reversed(order):
            parts = contributions.pop(node, None)
            if parts is None or not depends[node]:
                continue
            with graph._scope_exactly(f"{scope}/{node.name}_grad"), graph._building(GRADIENT, node):
                grad = _add_all(parts)
                if node in wanted:
                    found[node] = grad
                if node.is_leaf or not any(depends[i] for i in node.inputs):
                    continue
                input_grads = _backward(node, grad)
                _check_backward(node, input_grads)
                for x, g in zip(node.inputs, input_grads):
                    if g is not None and depends[x]:
                        _add_in(contributions, plain_at, x, _in_dtype_of(x, g), graph, scope)

    results = []
    for x in xs_list:
        if x in found:
            results.append(found[x])
        elif unconnected == "none":
            results.append(None)
        elif unconnected == "zero":
            x_scope = graph._scope_exactly(f"{scope}/{x.name}_grad")
            with graph._building(GRADIENT, grad_of=x), x_scope:
                results.append(zeros_like(x))
        else:
            raise _unconnected_error(y, x, order)
    return results


def _in_dtype_of(x: Node, g: Node) -> Node:
    """A gradient has its input's dtype, as in PyTorch and TF1: float32 x + a float64
    array computes in float64, but x's gradient is float32."""
    return g if g.dtype == x.dtype else cast(g, x.dtype)


def _add_in(contributions, plain_at, x: Node, g: Node, graph, scope) -> None:
    """Add one contribution to x's list of them, keeping the plain ones summed.

    The plain contributions are added up as they come: the list holds their running
    sum where the first of them stood (`plain_at[x]` says where). The addition is
    named as if made with x's gradient (`gradients/W_grad/add`). A contribution made
    by an op that sums its own kind more cheaply (Op.sum_gradients) is kept as it
    is, for _add_all.
    """
    parts = contributions.setdefault(x, [])
    if _sums_itself(g):
        parts.append(g)
    elif x in plain_at:
        with graph._scope_exactly(f"{scope}/{x.name}_grad"), graph._building(GRADIENT, x):
            parts[plain_at[x]] = parts[plain_at[x]] + g
    else:
        plain_at[x] = len(parts)
        parts.append(g)


def _sums_itself(node: Node) -> bool:
    """True if node's op has its own sum_gradients (a classmethod: compared by the
    function under it, since each access to a classmethod makes a new bound method)."""
    return type(node.op).sum_gradients.__func__ is not Op.sum_gradients.__func__


def _add_all(parts: list[Node]) -> Node:
    """Sum the contributions of a Node's consumers (fan-out).

    Contributions made by one op that knows a cheaper way to sum several of its
    Nodes (Op.sum_gradients: slice and embedding gradients) are summed that way
    first, standing where the first of them stood; the rest are added in order.
    """
    groups: dict[type, list[Node]] = {}
    for p in parts:
        groups.setdefault(type(p.op), []).append(p)
    summed = {}
    for op_type, group in groups.items():
        if len(group) > 1:
            merged = op_type.sum_gradients(group)
            if merged is not None:
                summed[op_type] = merged
    if summed:
        kept = []
        for p in parts:
            kind = type(p.op)
            if kind not in summed:
                kept.append(p)
            elif summed[kind] is not None:  # the sum stands where the first of its group stood
                kept.append(summed[kind])
                # (and only there: the same Node may be in the group twice, as x + x gives
                # its gradient to x twice, and the sum already counts it twice)
                summed[kind] = None
        parts = kept
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _check_arguments(y, xs, unconnected):
    if not isinstance(y, Node):
        raise GradientError(
            f"gradients(y, xs) needs a Node for y, got {type(y).__name__}",
            hint="for the gradient of several losses together, add them: gradients(loss1 + "
            "loss2, xs)" if isinstance(y, (list, tuple)) else "pass the Node to differentiate",
        )
    if unconnected not in ("raise", "zero", "none"):
        raise GradientError(f"unconnected must be 'raise', 'zero' or 'none', got {unconnected!r}")
    if not is_float(y.dtype):
        raise GradientError(
            f"y {y.name} has dtype {y.dtype}; only float values have gradients", node=y
        )
    for x in xs:
        if not isinstance(x, Node):
            what = (f"a {type(x).__name__} of shape {shape_str(np.shape(x))}"
                    if isinstance(x, np.ndarray) else f"{x!r}")
            raise GradientError(
                f"gradients(y, xs): every x must be a Node, got {what}",
                hint="list the Nodes (Variables, Placeholders, ...) to differentiate with "
                "respect to, not their values",
            )
        if x.graph is not y.graph:
            raise GradientError(
                f"x {x.name} belongs to another Graph than y {y.name}",
                node=x,
                hint="build y and xs in the same graph",
            )


def _backward(node, grad):
    """node.op.backward(node, grad), with a Python error raised inside a user's backward
    (an IndexError, a TypeError) named: the Node, its op, and the line of backward that
    raised. symgraph's own errors (a ShapeError from an op built there) pass as they are."""
    try:
        return node.op.backward(node, grad)
    except SymgraphError:
        raise
    except Exception as e:
        op_class = type(node.op)
        raise GradientError(
            f"backward of op {node.op.name} raised {type(e).__name__}: {e}{_raised_at(e, op_class)}",
            node=node,
            hint=f"check {op_class.__name__}.backward",
        ) from e


def _raised_at(e, op_class) -> str:
    """' at file.py:LINE', the innermost line of the op's own file in e's traceback, or ''."""
    source = getattr(inspect.getmodule(op_class), "__file__", None)
    line = None
    for frame in traceback.extract_tb(e.__traceback__):
        if frame.filename == source:
            line = f" at {os.path.basename(frame.filename)}:{frame.lineno}"
    return line or ""


def _check_backward(node, input_grads):
    """A user's op with a wrong backward should fail here, naming the op, not much later."""
    if not isinstance(input_grads, (tuple, list)) or len(input_grads) != len(node.inputs):
        got = f"one Node, {input_grads.name}" if isinstance(input_grads, Node) else repr(input_grads)
        raise GradientError(
            f"backward of op {node.op.name} returned {got}; expected a tuple of one gradient "
            f"(or None) per input, {len(node.inputs)} in all",
            node=node,
            hint="return a tuple, even for one input: return (grad_x,)",
        )
    for x, g in zip(node.inputs, input_grads):
        if g is None:
            continue
        if not isinstance(g, Node):
            raise GradientError(
                f"backward of op {node.op.name} returned {type(g).__name__} for input {x.name}; "
                "gradients must be Nodes built from ops",
                node=node,
            )
        if not shapes_agree(g.shape, x.shape):
            raise GradientError(
                f"backward of op {node.op.name} gave a gradient of shape {shape_str(g.shape)} "
                f"for input {x.name} of shape {shape_str(x.shape)}",
                node=node,
                hint="reduce the gradient to the input's shape (sg.ops.shape.sum_to_shape)",
            )


def _unconnected_error(y, x, order) -> GradientError:
    if not is_float(x.dtype):
        return GradientError(
            f"{x.name} has dtype {x.dtype}: only float values have gradients, as in TF1 and PyTorch",
            node=x,
            hint=f"differentiate with respect to a float Node (sg.cast({x.name}, 'float64') and "
            "use that), or pass unconnected='none' to get None for it",
        )
    # Is x reachable at all? Then something without a gradient blocks every path.
    reach: dict[Node, bool] = {}
    blocker = None
    for n in order:
        reach[n] = n is x or any(reach[i] for i in n.inputs)
        if reach[n] and n is not x and blocker is None and (
            not n.op.differentiable or not is_float(n.dtype)
        ):
            blocker = n
    if reach.get(y) and blocker is not None:
        return GradientError(
            f"y {y.name} depends on {x.name} only through {blocker.name} ({blocker.op.name}), "
            "which has no gradient",
            node=blocker,
            hint="pass unconnected='zero' to get zeros, or use a differentiable op",
        )
    return GradientError(
        f"y {y.name} does not depend on {x.name}, so it has no gradient",
        node=x,
        hint=f"check that {x.name} is used to compute {y.name}, or pass unconnected='zero' "
        "to get zeros",
    )
