"""Ops that move, reshape, slice and broadcast values without doing arithmetic.

Two of them exist mostly for gradients: `broadcast_to` (the gradient of a sum
spreads it back out) and `sum_to` (the gradient of a broadcast sums it back
up). A dim of None is only known when the graph runs; where an op needs that
size it takes a second input, `like`, and reads the size off it at run time.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import Node, as_node, checks_for, make_node
from symgraph.ops.base import (
    Op,
    is_known,
    known_dtype,
    normalize_axis,
    normalize_one_axis,
    result_dtype,
)


# -- broadcasting and its inverse -------------------------------------------------------
class SumTo(Op):
    """Sum x down to `shape`: over leading dims x has in excess, and over dims where
    `shape` has a 1 and x does not. The reverse of broadcasting; None dims are kept.

    A second input, `like`, is read for its shape only: the Node whose gradient this
    is, when one of its None dims met a known size (see sum_to_shape). The compiler
    then checks, with the sizes fed, that it was not fed 1 there (specialize.py).
    """

    # It writes into a given buffer: a bias gradient, summed out of a big gradient,
    # would otherwise be NumPy's view of that gradient when nothing is summed, and
    # the memory plan must then keep the whole big gradient alive as long as the
    # small one lives (to the SGD update at the end of the step).
    writes_out = True

    def infer(self, x, like=None, *, shape):
        lead = x.ndim - len(shape)
        if lead < 0:
            raise ShapeError(
                f"sum_to cannot grow {x.name} {shape_str(x.shape)} to {shape_str(shape)}",
                hint="sum_to only removes dims; to add dims use sg.broadcast_to",
            )
        # A None dim is never summed over (None dims are not broadcast), so it is
        # x's own dim: once x's size is known, so is the result's.
        return tuple(x.shape[lead + i] if d is None else d for i, d in enumerate(shape)), x.dtype

    def forward(self, x, like=None, *, shape, out=None):
        return self.kernel(shape=shape)(x, out=out)

    def kernel(self, *, shape):
        """The kernel, with the work of reading the shapes done once per input shape:
        it runs twice a training step for every bias, and the plan costs more than
        the sum of a small gradient."""
        plans = {}  # x's shape -> (axes summed, result's shape, result without the 1s)

        def sum_to(x, like=None, out=None):  # (like: read by the compiler only)
            plan = plans.get(x.shape)
            if plan is None:
                plan = plans[x.shape] = _sum_to_plan(x.shape, shape)
            axes, kept, reduced = plan
            if not axes:  # nothing to sum: x in the target shape
                if out is None:
                    return x.reshape(kept)
                np.copyto(out, x.reshape(kept))
                return out
            if out is None:
                return np.add.reduce(x, axes).reshape(kept)  # what np.sum calls
            # the sum drops the summed dims; `out` has them as 1s: the same elements, in order
            np.add.reduce(x, axes, None, out.reshape(reduced))
            return out

        return sum_to

    def backward(self, node, grad):
        x = node.inputs[0]
        return (broadcast_to(grad, x.shape, like=x),) + ((None,) if len(node.inputs) == 2 else ())


def _sum_to_plan(x_shape, shape):
    """(the axes of x to sum, the result's shape, the result's shape without the summed
    dims) for summing an x of x_shape down to `shape`."""
    lead = len(x_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and x_shape[lead + i] != 1
    )
    kept = tuple(1 if d == 1 else x_shape[lead + i] for i, d in enumerate(shape))
    reduced = tuple(d for i, d in enumerate(x_shape) if i not in axes)
    return axes, kept, reduced


class BroadcastTo(Op):
    """Repeat x along dims to reach `shape` (NumPy broadcasting); None dims are read
    off the second input, `like`, at run time."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, like=None, *, shape):
        if not is_known(shape) and like is None:
            raise ShapeError(
                f"broadcast_to {shape_str(shape)} has a None dim and no `like` Node to read it from",
                hint="give every dim a size, or pass like=, a Node of the target shape",
            )
        hint = ("the target needs at least x's rank, and each dim of x, counted from the last, "
                "must be 1 or equal the target's")
        try:
            np.broadcast_shapes(tuple(1 if d is None else d for d in x.shape),
                                tuple(1 if d is None else d for d in shape))
        except ValueError:
            raise ShapeError(
                f"cannot broadcast {x.name} {shape_str(x.shape)} to {shape_str(shape)}", hint=hint
            ) from None
        if len(shape) < x.ndim:
            raise ShapeError(f"cannot broadcast {x.name} {shape_str(x.shape)} to {shape_str(shape)}",
                             hint=hint)
        if like is not None:
            if len(like.shape) != len(shape) or any(
                d is not None and l is not None and d != l for d, l in zip(shape, like.shape)
            ):
                raise ShapeError(
                    f"broadcast_to {shape_str(shape)} like {like.name} {shape_str(like.shape)}: "
                    "the shapes differ"
                )
            # a None dim that `like` already knows is known here too
            shape = tuple(l if d is None else d for d, l in zip(shape, like.shape))
        return shape, x.dtype

    def forward(self, x, like=None, *, shape):
        target = like.shape if like is not None else shape
        return np.broadcast_to(x, target)

    def backward(self, node, grad):
        return (sum_to(grad, node.inputs[0].shape),) + ((None,) if len(node.inputs) == 2 else ())


def sum_to(x, shape, name=None) -> Node:
    return make_node(SumTo(), (x,), {"shape": tuple(shape)}, name=name)


def broadcast_to(x, shape, like=None, name=None) -> Node:
    """Broadcast x to `shape`. Give `like` (a Node of that shape) when `shape` has a None dim."""
    shape = tuple(shape)
    inputs = (x,) if like is None or is_known(shape) else (x, like)
    return make_node(BroadcastTo(), inputs, {"shape": shape}, name=name)


def sum_to_shape(grad: Node, like: Node) -> Node:
    """The gradient `grad` reduced to the shape of `like` (undoes broadcasting).

    When the shapes already match this adds nothing to the graph.
    """
    if grad.shape == like.shape:
        return grad
    lead = len(grad.shape) - len(like.shape)
    if any(d is None and grad.shape[lead + i] is not None for i, d in enumerate(like.shape)):
        # like's None dim met a known size: it can only have been that size, as a None
        # dim is never broadcast, so nothing is summed there. like comes along so that a
        # run feeding it 1 there (which would broadcast) is refused, also when only the
        # gradient is fetched and nothing else reads like (compiler/specialize.py).
        return make_node(SumTo(), (grad, like), {"shape": tuple(like.shape)})
    return sum_to(grad, like.shape)


# -- reshape, squeeze, expand_dims -----------------------------------------------------------
class Reshape(Op):
    """Reshape to `shape` (one dim may be -1). With a `like` input and shape=None,
    reshape to like's shape at run time (used by gradients when dims are None)."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, like=None, *, shape):
        if shape is None:
            return like.shape, x.dtype
        if sum(d == -1 for d in shape) > 1:
            raise ShapeError(
                f"reshape of {x.name} {shape_str(x.shape)} to {shape}: at most one dim may be -1",
                hint="give every dim but one a size; -1 stands for the one left",
            )
        known_out = [d for d in shape if d != -1]
        if is_known(x.shape):
            size = int(np.prod(x.shape, dtype=np.int64))
            rest = int(np.prod(known_out, dtype=np.int64))
            if -1 in shape:
                if rest == 0 or size % rest:
                    raise ShapeError(
                        f"cannot reshape {x.name} {shape_str(x.shape)} ({size} elements) to {shape}: "
                        f"{size} is not a multiple of the other dims' {rest}",
                        hint="the number of elements must stay the same: choose dims whose "
                        f"product divides {size}",
                    )
                shape = tuple(size // rest if d == -1 else d for d in shape)
            elif size != rest:
                raise ShapeError(
                    f"cannot reshape {x.name} {shape_str(x.shape)} ({size} elements) "
                    f"to {shape_str(shape)} ({rest} elements)",
                    hint="the number of elements must stay the same; use -1 for one dim to infer it",
                )
            return shape, x.dtype
        return tuple(None if d == -1 else d for d in shape), x.dtype

    def forward(self, x, like=None, *, shape):
        return np.reshape(x, like.shape if shape is None else shape)

    def backward(self, node, grad):
        x = node.inputs[0]
        extra = (None,) if len(node.inputs) == 2 else ()
        return (reshape_as(grad, x),) + extra


def reshape(x, shape, name=None) -> Node:
    """x with a new shape of the same size; one dim may be -1 (op Reshape)."""
    x = as_node(x)
    with checks_for(Reshape(), (x,), name):
        shape = _reshape_dims(x, shape)
    return make_node(Reshape(), (x,), {"shape": shape}, name=name)


def _reshape_dims(x, shape) -> tuple:
    """The target shape as a tuple of ints; None, TF1's and a Placeholder's way to say
    'not known until the run', is -1 here, which reshape works out from x's size."""
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ShapeError(
            f"reshape of {x.name} {shape_str(x.shape)} to {shape!r}: the shape must be a tuple",
            hint="give the new shape as a tuple of ints, one of them may be -1",
        ) from None
    if None in shape:
        example = tuple(-1 if d is None else d for d in shape)
        raise ShapeError(
            f"reshape of {x.name} {shape_str(x.shape)} to {shape_str(shape)}: None is not a size",
            hint="use -1 for the one dim not known until the run"
            + (f", e.g. {example}" if shape.count(None) == 1 else ""),
        )
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ShapeError(
            f"reshape of {x.name} {shape_str(x.shape)} to {shape!r}: each dim must be an int",
            hint="give the new shape as a tuple of ints, one of them may be -1",
        ) from None


def reshape_as(x: Node, like: Node, name=None) -> Node:
    """Reshape x to like's shape, reading None dims off `like` at run time if need be."""
    if x.shape == like.shape and is_known(x.shape):
        return x
    unknown = sum(d is None for d in like.shape)
    if unknown == 0:
        return reshape(x, like.shape, name=name)
    if unknown == 1:
        return reshape(x, tuple(-1 if d is None else d for d in like.shape), name=name)
    return make_node(Reshape(), (x, like), {"shape": None}, name=name)


class Squeeze(Op):
    """Remove dims of size 1 (all of them, or those in `axis`)."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, *, axis):
        axes = axis if axis is not None else tuple(i for i, d in enumerate(x.shape) if d == 1)
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(
                    f"squeeze of {x.name} {shape_str(x.shape)}: dim {a} has size "
                    f"{x.shape[a]}, not 1",
                    hint="give only axes of size 1, or leave axis out to remove every dim of size 1",
                )
        return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype

    def forward(self, x, *, axis):
        return np.squeeze(x, axis=axis)

    def backward(self, node, grad):
        (x,) = node.inputs
        return (reshape_as(grad, x),)


class ExpandDims(Op):
    """Insert a dim of size 1 at `axis`."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, *, axis):
        shape = list(x.shape)
        shape.insert(axis, 1)
        return tuple(shape), x.dtype

    def forward(self, x, *, axis):
        return np.expand_dims(x, axis)

    def backward(self, node, grad):
        return (squeeze(grad, node.attrs["axis"]),)


def squeeze(x, axis=None, name=None) -> Node:
    """x without its size-1 dims (all of them, or those in `axis`) (op Squeeze)."""
    x = as_node(x)
    with checks_for(Squeeze(), (x,), name):
        axis = normalize_axis(axis, x.ndim, of=x)
    if axis is None:  # the dims of size 1 now: a None dim fed as 1 at run time is kept
        axis = tuple(i for i, d in enumerate(x.shape) if d == 1)
    return make_node(Squeeze(), (x,), {"axis": axis}, name=name)


def expand_dims(x, axis, name=None) -> Node:
    """x with a new dim of size 1 at `axis` (op ExpandDims)."""
    x = as_node(x)
    with checks_for(ExpandDims(), (x,), name):
        axis = normalize_one_axis(axis, x.ndim + 1, of=x)
    return make_node(ExpandDims(), (x,), {"axis": axis}, name=name)


# -- indexing --------------------------------------------------------------------------------
def _encode_index(index) -> tuple:
    """A Python index as a hashable tuple: ints, ('slice', start, stop, step), None, Ellipsis."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, (bool, np.bool_)):
            raise ShapeError("indexing with a bool is not supported", hint="use sg.where")
        if isinstance(item, (int, np.integer)):
            out.append(int(item))
        elif isinstance(item, slice):
            out.append(("slice", item.start, item.stop, item.step))
        elif item is None or item is Ellipsis:
            out.append(item)
        else:
            raise ShapeError(
                f"index {item!r} is not supported: only ints, slices, None and ... (basic indexing)",
                hint="to gather rows by an array of ids use sg.embedding_lookup(params, ids)",
            )
    if sum(item is Ellipsis for item in out) > 1:
        raise ShapeError("an index can have only one ellipsis (...)")
    return tuple(out)


def _decode_index(index: tuple) -> tuple:
    return tuple(slice(*item[1:]) if isinstance(item, tuple) else item for item in index)


def _slice_length(item, size):
    """How long x[start:stop:step] is along a dim of `size` (None: known when fed).

    On a None dim a slice with a plain start and stop, like x[:, :1] or
    x[:, 2:5], is taken to have stop - start elements (the dim is assumed to be
    that long), so the result can broadcast like the 1 it usually is.
    """
    _, start, stop, step = item
    if size is not None:
        return len(range(*slice(start, stop, step).indices(size)))
    start = 0 if start is None else start
    if step in (None, 1) and stop is not None and 0 <= start <= stop:
        return stop - start
    return None


class GetItem(Op):
    """x[index] with basic indexing (ints, slices, None, ...): a view, no copy."""

    name = "getitem"
    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, *, index):
        consumed = sum(isinstance(i, (int, tuple)) for i in index)
        if consumed > x.ndim:
            raise ShapeError(
                f"too many indices for {x.name} {shape_str(x.shape)}",
                hint=f"give at most {x.ndim} indices, one a dim (None adds a dim)",
            )
        items = []
        for item in index:
            if item is Ellipsis:
                items += [("slice", None, None, None)] * (x.ndim - consumed)
            else:
                items.append(item)
        if Ellipsis not in index:  # dims not indexed are kept whole, as x[i] == x[i, ...]
            items += [("slice", None, None, None)] * (x.ndim - consumed)
        shape, dim = [], 0
        for item in items:
            if item is None:
                shape.append(1)
                continue
            if dim >= x.ndim:
                break
            size = x.shape[dim]
            if isinstance(item, int):
                if size is not None and not -size <= item < size:
                    raise ShapeError(
                        f"index {item} is out of range for dim {dim} of {x.name} "
                        f"{shape_str(x.shape)}",
                        hint=f"use an index between {-size} and {size - 1}",
                    )
            else:
                step = item[3]
                if step == 0:
                    raise ShapeError(
                        f"slice step cannot be zero (dim {dim} of {x.name} {shape_str(x.shape)})",
                        hint="use a step of 1 or more, or a negative step to go backwards",
                    )
                shape.append(_slice_length(item, size))
            dim += 1
        return tuple(shape), x.dtype

    def forward(self, x, *, index):
        picked = np.asarray(x)[_decode_index(index)]  # a weak constant arrives as a Python number
        # an int for every dim picks one element, which NumPy gives as a scalar, not an
        # array; the next kernel may write into out= (clip, mean), which needs an array
        return picked if isinstance(picked, np.ndarray) else np.asarray(picked)

    def backward(self, node, grad):
        (x,) = node.inputs
        return (make_node(GetItemGrad(), (grad, x), {"index": node.attrs["index"]}),)


class GetItemGrad(Op):
    """The gradient of x[index]: zeros shaped like x, with grad written at index."""

    fresh_output = True  # returns a new array, never a view of an input

    name = "getitem_grad"

    def infer(self, grad, like, *, index):
        # a Python number (grad_y=2.0) is weak, as in forward: it takes like's float dtype
        return like.shape, np.result_type(grad.value, like.dtype) if grad.weak else grad.dtype

    def forward(self, grad, like, *, index):
        # grad may be a Python number (a weak constant), which has no dtype of its own
        dtype = grad.dtype if isinstance(grad, np.ndarray) else np.result_type(grad, like)
        out = np.zeros(np.shape(like), dtype=dtype)
        out[_decode_index(index)] = grad
        return out

    def backward(self, node, grad):
        return (getitem(grad, _decode_index(node.attrs["index"])), None)

    @classmethod
    def sum_gradients(cls, parts):
        # The pieces of a tensor cut up by sg.unstack or sg.split each send back a
        # full-size array that is zero outside their slice: T pieces would hold T
        # of them at once. One scatter_slices adds each piece into one array instead.
        like = parts[0].inputs[1]
        if any(p.inputs[1] is not like for p in parts):
            return None
        return scatter_slices(like, [p.inputs[0] for p in parts], [p.attrs["index"] for p in parts])


class ScatterSlices(Op):
    """Several slice gradients summed: zeros shaped like `like`, each grad added at its index.

    The gradient of a tensor that was cut into pieces (sg.unstack, sg.split)
    is one getitem_grad per piece; summed one by one, each would be a full-size
    array, and a sequence of T pieces would hold T of them at once. Summed with
    this op instead (GetItemGrad.sum_gradients), they make one array, each piece
    added in place.
    """

    name = "scatter_slices"
    writes_out = True
    fresh_output = True

    def infer(self, like, *grads, indices):
        return like.shape, result_dtype(*grads)

    def forward(self, like, *grads, indices, out=None):
        if out is None:
            out = np.zeros(np.shape(like), dtype=np.result_type(*grads))
        else:
            out[...] = 0  # a reused buffer: clear what the last run left
        for grad, index in zip(grads, indices):
            out[_decode_index(index)] += grad
        return out

    def backward(self, node, grad):
        indices = node.attrs["indices"]
        return (None,) + tuple(getitem(grad, _decode_index(i)) for i in indices)


def scatter_slices(like, grads, indices, name=None) -> Node:
    """sum of getitem_grad(grad_i, like, index_i) over i, as one op (see ScatterSlices)."""
    return make_node(ScatterSlices(), (like, *grads), {"indices": tuple(indices)}, name=name)


def getitem(x, index, name=None) -> Node:
    """x[index] with basic indexing: ints, slices, None and ...; also written x[...] (op GetItem)."""
    with checks_for(GetItem(), (x,), name):
        index = _encode_index(index)
    return make_node(GetItem(), (x,), {"index": index}, name=name)


# -- joining and splitting ---------------------------------------------------------------------
def _a_list(xs, what):
    """concat([a, b]) takes a list: concat(a, b) passed b as the axis, and a Node
    cannot be iterated, which said nothing of the list."""
    if isinstance(xs, Node):
        raise ShapeError(
            f"{what} takes a list of tensors, got the Node {xs.name}",
            node=xs,
            hint=f"put them in a list: sg.{what}([a, b], axis=...)",
        )
    return xs



class Concat(Op):
    """Join tensors along an existing axis."""

    writes_out = True  # forward accepts out=, a buffer to write the result into

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, *xs, axis):
        first = xs[0]
        size = 0
        for x in xs:
            if x.ndim != first.ndim or any(
                i != axis and a is not None and b is not None and a != b
                for i, (a, b) in enumerate(zip(x.shape, first.shape))
            ):
                raise ShapeError(
                    "concat along axis "
                    f"{axis} needs equal shapes elsewhere: "
                    + ", ".join(f"{n.name} {shape_str(n.shape)}" for n in xs),
                    hint=f"make every dim but axis {axis} equal (reshape or slice the inputs), "
                    "or join along the axis where they differ",
                )
            size = None if size is None or x.shape[axis] is None else size + x.shape[axis]
        shape = list(first.shape)
        shape[axis] = size
        return tuple(shape), result_dtype(*xs)

    def forward(self, *xs, axis, out=None):
        return np.concatenate(xs, axis=axis, out=out)

    def backward(self, node, grad):
        axis = node.attrs["axis"]
        if any(x.shape[axis] is None for x in node.inputs):
            # a size known only when the graph runs (a batch of None rows): each input's
            # slice of grad is cut where the inputs' run-time sizes say (ConcatPart)
            return tuple(
                make_node(ConcatPart(), (grad, *node.inputs), {"index": i, "axis": axis})
                for i in range(len(node.inputs))
            )
        grads, start = [], 0
        for x in node.inputs:
            size = x.shape[axis]
            index = (slice(None),) * axis + (slice(start, start + size),)
            grads.append(getitem(grad, index))
            start += size
        return tuple(grads)


class ConcatPart(Op):
    """Piece `index` of x cut along `axis` into pieces the sizes of `parts`, read when
    the graph runs: the gradient of a concat whose inputs' sizes along `axis` are not
    known when it is built. A view of x, as a slice is."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, *parts, index, axis):
        shape = list(x.shape)
        shape[axis] = parts[index].shape[axis]
        return tuple(shape), x.dtype

    def forward(self, x, *parts, index, axis):
        start = sum(np.shape(p)[axis] for p in parts[:index])
        stop = start + np.shape(parts[index])[axis]
        return x[(slice(None),) * axis + (slice(start, stop),)]

    def backward(self, node, grad):
        # x's gradient: grad where this piece was, zeros where the others were
        x, *parts = node.inputs
        index, axis = node.attrs["index"], node.attrs["axis"]
        pieces = [grad if j == index else zeros_like(p, dtype=x.dtype) for j, p in enumerate(parts)]
        return (concat(pieces, axis=axis), *([None] * len(parts)))


class Stack(Op):
    """Join tensors of one shape along a new axis."""

    writes_out = True  # forward accepts out=, a buffer to write the result into

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, *xs, axis):
        first = xs[0]
        for x in xs:
            if x.ndim != first.ndim or any(
                a is not None and b is not None and a != b for a, b in zip(x.shape, first.shape)
            ):
                raise ShapeError(
                    "stack needs inputs of one shape: "
                    + ", ".join(f"{n.name} {shape_str(n.shape)}" for n in xs),
                    hint="give every input the same shape, or join along an existing axis with "
                    "sg.concat",
                )
        shape = list(first.shape)
        shape.insert(axis, len(xs))
        return tuple(shape), result_dtype(*xs)

    def forward(self, *xs, axis, out=None):
        return np.stack(xs, axis=axis, out=out)

    def backward(self, node, grad):
        axis = node.attrs["axis"]
        return tuple(getitem(grad, (slice(None),) * axis + (i,)) for i in range(len(node.inputs)))


def concat(xs, axis=0, name=None) -> Node:
    """The tensors in `xs` joined along an existing `axis` (op Concat)."""
    xs = [as_node(x) for x in _a_list(xs, "concat")]
    with checks_for(Concat(), xs, name):
        if not xs:
            raise ShapeError(
                "concat needs at least one tensor, got an empty list",
                hint="pass a list of one or more Nodes, e.g. sg.concat([a, b], axis=0)",
            )
        axis = normalize_one_axis(axis, xs[0].ndim, of=xs[0])
    return make_node(Concat(), xs, {"axis": axis}, name=name)


def stack(xs, axis=0, name=None) -> Node:
    """The tensors in `xs`, all of one shape, joined along a new `axis` (op Stack)."""
    xs = [as_node(x) for x in _a_list(xs, "stack")]
    with checks_for(Stack(), xs, name):
        if not xs:
            raise ShapeError(
                "stack needs at least one tensor, got an empty list",
                hint="pass a list of one or more Nodes, e.g. sg.stack([a, b], axis=0)",
            )
        axis = normalize_one_axis(axis, xs[0].ndim + 1, of=xs[0])
    return make_node(Stack(), xs, {"axis": axis}, name=name)


def split(x, num_or_sizes, axis=0) -> list[Node]:
    """Cut x along `axis` into equal parts (an int) or parts of the given sizes (a list)."""
    x = as_node(x)
    with checks_for("split", (x,)):
        axis = normalize_one_axis(axis, x.ndim, of=x)
        size = x.shape[axis]
        if isinstance(num_or_sizes, (int, np.integer)):
            if size is None:
                raise ShapeError(
                    f"cannot split {x.name} {shape_str(x.shape)} into {num_or_sizes} equal parts: "
                    f"the size of axis {axis} is not known until the run",
                    hint="give that dim a fixed size in the Placeholder",
                )
            if num_or_sizes <= 0 or size % num_or_sizes:
                raise ShapeError(
                    f"cannot split {x.name} {shape_str(x.shape)} into {num_or_sizes} equal parts "
                    f"along axis {axis}",
                    hint=f"give a number of parts that divides {size}, or a list of sizes that "
                    f"add up to {size}",
                )
            sizes = [size // num_or_sizes] * num_or_sizes
        else:
            sizes = list(num_or_sizes)
            if size is not None and sum(sizes) != size:
                raise ShapeError(
                    f"split sizes {sizes} do not add up to {size}, the size of axis {axis} "
                    f"of {x.name} {shape_str(x.shape)}",
                    hint=f"give sizes that add up to {size}",
                )
    parts, start = [], 0
    for s in sizes:
        parts.append(getitem(x, (slice(None),) * axis + (slice(start, start + s),)))
        start += s
    return parts


def unstack(x, axis=0) -> list[Node]:
    """One Node per slice along `axis` (that dim must be known): the per-step inputs of an RNN."""
    x = as_node(x)
    with checks_for("unstack", (x,)):
        axis = normalize_one_axis(axis, x.ndim, of=x)
        if x.shape[axis] is None:
            raise ShapeError(
                f"unstack of {x.name} {shape_str(x.shape)}: the size of axis {axis} is not known",
                hint="give that dim a fixed size in the Placeholder",
            )
    # in a scope of their own, as TF1's tf.unstack: a picture can then draw the slices of
    # a long sequence as one box (collapse="auto"), not as thousands of loose nodes
    with x.graph.name_scope("unstack"):
        return [getitem(x, (slice(None),) * axis + (i,)) for i in range(x.shape[axis])]


class StopGradient(Op):
    """x itself when the graph runs; no gradient flows back through it (TF1's
    tf.stop_gradient, PyTorch's .detach()): the inputs it comes from are treated as
    constants by sg.gradients, as when truncating backpropagation through time."""

    returns_view = True  # x itself: no memory of its own (see Op)

    differentiable = False

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return x

    def backward(self, node, grad):
        return (None,)


def stop_gradient(x, name=None) -> Node:
    """x, with no gradient flowing back through it (op StopGradient)."""
    return make_node(StopGradient(), (as_node(x),), name=name)


# -- constant-valued ops ----------------------------------------------------------------------
class ZerosLike(Op):
    """Zeros of x's shape (read at run time) and dtype; constant, so no gradient flows."""

    fresh_output = True  # returns a new array, never a view of an input

    differentiable = False

    def infer(self, x, *, dtype):
        return x.shape, np.dtype(dtype or x.dtype)

    def forward(self, x, *, dtype):
        return np.zeros(np.shape(x), dtype=dtype or np.result_type(x))  # x may be a Python number

    def backward(self, node, grad):
        return (None,)


class OnesLike(Op):
    """Ones of x's shape (read at run time) and dtype; constant, so no gradient flows."""

    fresh_output = True  # returns a new array, never a view of an input

    differentiable = False

    def infer(self, x, *, dtype):
        return x.shape, np.dtype(dtype or x.dtype)

    def forward(self, x, *, dtype):
        return np.ones(np.shape(x), dtype=dtype or np.result_type(x))  # x may be a Python number

    def backward(self, node, grad):
        return (None,)


def zeros_like(x, dtype=None, name=None) -> Node:
    """Zeros of x's shape (read when the graph runs) and dtype; no gradient (op ZerosLike)."""
    x = as_node(x)
    if dtype is not None:
        with checks_for(ZerosLike(), (x,), name):
            dtype = known_dtype(dtype, f"zeros_like of {x.name} with dtype").name
    return make_node(ZerosLike(), (x,), {"dtype": dtype}, name=name)


def ones_like(x, dtype=None, name=None) -> Node:
    """Ones of x's shape (read when the graph runs) and dtype; no gradient (op OnesLike)."""
    x = as_node(x)
    if dtype is not None:
        with checks_for(OnesLike(), (x,), name):
            dtype = known_dtype(dtype, f"ones_like of {x.name} with dtype").name
    return make_node(OnesLike(), (x,), {"dtype": dtype}, name=name)
