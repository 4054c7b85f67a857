"""Reductions: sum, mean, max (over an axis or all of them, with keepdims), argmax.

The gradient of a reduction spreads the output's gradient back over the
elements that were reduced: equally for sum, divided by the count for mean,
and only onto the winning elements for max.
"""

from __future__ import annotations

import numpy as np

from symgraph.graph import Node, as_node, checks_for, make_node
from symgraph.ops.base import Op, normalize_axis, normalize_one_axis, num_elements
from symgraph.ops.math import cast, equal, where
from symgraph.ops.shape import broadcast_to, expand_dims, reshape


def _reduced_shape(shape, axis, keepdims):
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    if keepdims:
        return tuple(1 if i in axis else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axis)


def _reduce_kernel(ufunc, axis, keepdims):
    """`ufunc.reduce` over `axis`, as np.sum and np.max call it for an array.

    np.sum and np.max are Python wrappers that end in this very call; calling it
    directly, with positional arguments (which NumPy reads faster than keywords),
    gives the same values, dtypes and NumPy scalars for 0-d results, and saves
    more than a microsecond a call: most of the cost of reducing a small array.
    """
    reduce = ufunc.reduce

    def kernel(x, out=None):
        return reduce(x, axis, None, out, keepdims)  # (array, axis, dtype, out, keepdims)

    return kernel


def _with_kept_dims(grad: Node, x: Node, axis, keepdims) -> Node:
    """Put back the reduced dims (as size 1) so grad broadcasts against x."""
    if keepdims:
        return grad
    if axis is None:
        return reshape(grad, (1,) * x.ndim) if x.ndim else grad
    for a in axis:  # ascending, so each insert lands at its original position
        grad = expand_dims(grad, a)
    return grad


class Reduction(Op):

    fresh_output = True  # returns a new array, never a view of an input
    abstract = True

    def infer(self, x, *, axis, keepdims):
        return _reduced_shape(x.shape, axis, keepdims), x.dtype

    def flops(self, node) -> int:
        return num_elements(node.inputs[0].shape)


class Sum(Reduction):
    writes_out = True  # forward accepts out=, a buffer to write the result into

    def infer(self, x, *, axis, keepdims):
        # NumPy sums bools and small ints in a wider integer type
        return _reduced_shape(x.shape, axis, keepdims), np.sum(np.zeros(1, x.dtype)).dtype

    def forward(self, x, *, axis, keepdims, out=None):
        return np.sum(x, axis=axis, keepdims=keepdims, out=out)

    def kernel(self, *, axis, keepdims):
        return _reduce_kernel(np.add, axis, keepdims)  # forward, without np.sum's wrapper

    def backward(self, node, grad):
        (x,) = node.inputs
        g = _with_kept_dims(grad, x, node.attrs["axis"], node.attrs["keepdims"])
        return (broadcast_to(g, x.shape, like=x),)


class Mean(Reduction):
    writes_out = True  # forward accepts out=, a buffer to write the result into

    def infer(self, x, *, axis, keepdims):
        return _reduced_shape(x.shape, axis, keepdims), np.mean(np.zeros(1, x.dtype)).dtype

    def forward(self, x, *, axis, keepdims, out=None):
        if np.result_type(x) == np.float16:
            # np.mean sums float16 in float32, but not into a float16 out=, where a sum
            # past 65,504 (float16's largest) would be inf: so the float32 mean, then out
            mean = np.mean(x, axis=axis, keepdims=keepdims, dtype=np.float32)
            if out is None:
                return mean.astype(np.float16)
            np.copyto(out, mean, casting="same_kind")
            return out
        return np.mean(x, axis=axis, keepdims=keepdims, out=out)

    def backward(self, node, grad):
        (x,) = node.inputs
        axis = node.attrs["axis"]
        g = _with_kept_dims(grad, x, axis, node.attrs["keepdims"])
        return (divided_by_count(broadcast_to(g, x.shape, like=x), x, axis),)


class Max(Reduction):
    writes_out = True  # forward accepts out=, a buffer to write the result into

    def forward(self, x, *, axis, keepdims, out=None):
        return np.max(x, axis=axis, keepdims=keepdims, out=out)

    def kernel(self, *, axis, keepdims):
        return _reduce_kernel(np.maximum, axis, keepdims)  # forward, without np.max's wrapper

    def backward(self, node, grad):
        (x,) = node.inputs
        axis, keepdims = node.attrs["axis"], node.attrs["keepdims"]
        # The gradient goes to the elements equal to the max; ties share it equally.
        winners = equal(x, broadcast_to(_with_kept_dims(node, x, axis, keepdims), x.shape, like=x))
        share = sum(cast(winners, x.dtype), axis=axis, keepdims=True)
        g = _with_kept_dims(grad, x, axis, keepdims) / share
        return (where(winners, broadcast_to(g, x.shape, like=x), 0),)


class ArgMax(Op):
    """Index of the largest value along `axis` (of the flattened x when axis is None)."""

    fresh_output = True  # returns a new array, never a view of an input

    name = "argmax"

    differentiable = False

    def infer(self, x, *, axis):
        return _reduced_shape(x.shape, None if axis is None else (axis,), False), np.dtype("int64")

    def forward(self, x, *, axis):
        return np.argmax(x, axis=axis)

    def backward(self, node, grad):
        return (None,)


class ReducedCount(Op):
    """How many elements a reduction over `axis` combines, as a scalar of `dtype`
    (x's when None), or with `reciprocal` one over that count.

    It is a Node, not a number, because a None dim is only known at run time;
    mean's gradient divides by it (see divided_by_count).
    """

    fresh_output = True  # returns a new array, never a view of an input

    differentiable = False

    def infer(self, x, *, axis, dtype=None, reciprocal=False):
        return (), x.dtype if dtype is None else np.dtype(dtype)

    def forward(self, x, *, axis, dtype=None, reciprocal=False):
        shape = np.shape(x)
        axes = range(len(shape)) if axis is None else axis
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        if reciprocal:
            count = 1.0 / count if count else np.inf
        return np.asarray(count, dtype=np.result_type(x) if dtype is None else dtype)  # x may be a Python number

    def backward(self, node, grad):
        return (None,)


FLOAT16_MAX = 65504  # float16's largest finite number; a count above it is inf there


def divided_by_count(g: Node, x: Node, axis) -> Node:
    """g / the number of elements a reduction of x over `axis` combines: a mean's gradient.

    In float16 a count above 65,504 (its largest number) is inf, and g / inf is 0,
    so there g is multiplied by the count's reciprocal, which fits."""
    axes = range(x.ndim) if axis is None else axis
    dims = [x.shape[a] for a in axes]
    half = g.dtype == np.float16
    if all(d is not None for d in dims):
        count = int(np.prod(dims, dtype=np.int64))  # known now: a plain number
        return g * (1.0 / count) if half and count > FLOAT16_MAX else g / count
    # known only when the graph runs
    count = make_node(ReducedCount(), (x,), {"axis": axis, "dtype": g.dtype, "reciprocal": half})
    return g * count if half else g / count


def divide_by_count(values: np.ndarray, count: int) -> np.ndarray:
    """values /= count in place, as a mean divides; a float16 count above 65,504 would
    be inf (see divided_by_count), so there values are multiplied by 1/count instead."""
    if values.dtype == np.float16 and count > FLOAT16_MAX:
        values *= 1.0 / count
    else:
        values /= count
    return values


def _reduction(op, x, axis, keepdims, name) -> Node:
    x = as_node(x)
    with checks_for(op, (x,), name):
        axis = normalize_axis(axis, x.ndim, of=x)
    return make_node(op, (x,), {"axis": axis, "keepdims": bool(keepdims)}, name=name)


def sum(x, axis=None, keepdims=False, name=None) -> Node:  # noqa: A001
    """Sum over `axis` (an int, a tuple, or None for all), keeping reduced dims as 1 with keepdims (op Sum)."""
    return _reduction(Sum(), x, axis, keepdims, name)


def mean(x, axis=None, keepdims=False, name=None) -> Node:
    """Mean over `axis` (an int, a tuple, or None for all), keeping reduced dims as 1 with keepdims (op Mean)."""
    return _reduction(Mean(), x, axis, keepdims, name)


def max(x, axis=None, keepdims=False, name=None) -> Node:  # noqa: A001
    """Largest value over `axis`, with keepdims as NumPy; ties share the gradient (op Max)."""
    return _reduction(Max(), x, axis, keepdims, name)


def argmax(x, axis=None, name=None) -> Node:
    """The index of the largest value along `axis` (of the flattened x when None), the
    first on a tie, as NumPy; int64, no gradient (op ArgMax)."""
    x = as_node(x)
    with checks_for(ArgMax(), (x,), name):
        axis = None if axis is None else normalize_one_axis(axis, x.ndim, of=x)
    return make_node(ArgMax(), (x,), {"axis": axis}, name=name)
