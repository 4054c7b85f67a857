"""Linear algebra: matmul and transpose.

matmul has NumPy's meaning: matrix @ matrix, matrix @ vector, vector @ matrix,
vector @ vector (a dot product), and stacks of matrices: operands of 3 or more
dims are stacks of matrices in their last two dims, and their leading (batch)
dims broadcast, so a (batch, time, features) input times a (features, out)
weight is one product per row of every sequence, as in PyTorch's nn.Linear.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import Node, as_node, make_node
from symgraph.ops.base import Op, num_elements, ufunc_dtype
from symgraph.ops.shape import expand_dims, reshape, squeeze, sum_to_shape


class MatMul(Op):
    """a @ b, as np.matmul: 1-D and 2-D operands, and stacks of matrices."""

    fresh_output = True  # returns a new array, never a view of an input

    name = "matmul"

    writes_out = True

    def infer(self, a, b):
        pair = f"matmul of {a.name} {shape_str(a.shape)} and {b.name} {shape_str(b.shape)}"
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(
                f"{pair}: a 0-d operand is a number, not a vector or matrix",
                hint="multiply by a number with *, not @",
            )
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
        if k_a is not None and k_b is not None and k_a != k_b:
            where = "first" if b.ndim <= 2 else "second-to-last"
            raise ShapeError(
                f"{pair}: inner dimensions {k_a} and {k_b} differ",
                hint=f"the last dim of {a.name} must equal the {where} dim of {b.name}",
            )
        rows = a.shape[-2:-1]  # (m,), or () for a vector
        cols = b.shape[-1:] if b.ndim >= 2 else ()
        batch = _broadcast_batch(a.shape[:-2], b.shape[:-2], pair)
        return batch + rows + cols, ufunc_dtype(np.matmul, a, b)

    def forward(self, a, b, out=None):
        return np.matmul(a, b, out=out)

    def kernel(self, **attrs):
        return np.matmul  # forward is exactly np.matmul: call it directly

    def backward(self, node, grad):
        a, b = node.inputs
        if a.ndim == 2 and b.ndim == 2:
            return grad @ transpose(b), transpose(a) @ grad
        if a.ndim <= 2 and b.ndim <= 2:
            if a.ndim == 2:  # (m, k) @ (k,) -> (m,)
                return expand_dims(grad, 1) * b, transpose(a) @ grad
            if b.ndim == 2:  # (k,) @ (k, n) -> (n,)
                return b @ grad, expand_dims(a, 1) * grad
            return grad * b, grad * a  # (k,) @ (k,) -> ()
        return _stacked_grads(a, b, grad)

    def flops(self, node) -> int:
        a, _ = node.inputs
        return 2 * num_elements(node.shape) * (a.shape[-1] or 1)


def _broadcast_batch(a_batch, b_batch, pair) -> tuple:
    """The batch dims of a stacked matmul: NumPy broadcasting of the two operands'
    leading dims (a None dim is taken not to be 1, as everywhere in symgraph)."""
    n = max(len(a_batch), len(b_batch))
    a_batch = (1,) * (n - len(a_batch)) + tuple(a_batch)
    b_batch = (1,) * (n - len(b_batch)) + tuple(b_batch)
    batch = []
    for x, y in zip(a_batch, b_batch):
        if x == 1 or x == y:
            batch.append(y)
        elif y == 1:
            batch.append(x)
        elif x is None or y is None:
            batch.append(x if y is None else y)
        else:
            raise ShapeError(
                f"{pair}: the batch dims {shape_str(tuple(a_batch))} and {shape_str(tuple(b_batch))} "
                "do not broadcast",
                hint="make the leading dims equal, or 1 where one operand is shared",
            )
    return tuple(batch)


def _swap_last(x: Node) -> Node:
    """x with its last two axes swapped: each matrix of a stack transposed (a view)."""
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, axes)


def _stacked_grads(a: Node, b: Node, grad: Node):
    """The gradients of a matmul with a stack (3 or more dims) among its operands.

    Per matrix of the stack they are the 2-D rule, grad @ b.T and a.T @ grad; an
    operand shared across the stack (broadcast) gets the sum over it. A 1-D
    operand is a row (a) or a column (b) for this, as np.matmul treats it.
    """
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, 1) if b.ndim == 1 else b
    g = expand_dims(grad, -2) if a.ndim == 1 else grad
    g = expand_dims(g, -1) if b.ndim == 1 else g
    da = sum_to_shape(g @ _swap_last(b2), a2)
    if b2.ndim == 2 and None not in b2.shape:
        k, n = b2.shape
        # one weight matrix for the whole stack (nn.Linear on sequences): its gradient is
        # one big product over every row of every matrix, not a product per matrix summed
        db = transpose(reshape(a2, (-1, k))) @ reshape(g, (-1, n))
    else:
        db = sum_to_shape(_swap_last(a2) @ g, b2)
    if a.ndim == 1:
        da = squeeze(da, 0)
    if b.ndim == 1:
        db = squeeze(db, 1)
    return da, db


class Transpose(Op):
    """Permute the axes (reverse them when axes is None). A view: no copy."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, *, axes):
        if axes is None:
            return x.shape[::-1], x.dtype
        if sorted(axes) != list(range(x.ndim)):
            raise ShapeError(
                f"transpose of {x.name} {shape_str(x.shape)}: axes {axes} are not a "
                f"permutation of 0..{x.ndim - 1}",
                hint=f"give each axis 0..{x.ndim - 1} once, e.g. {tuple(range(x.ndim))[::-1]}",
            )
        return tuple(x.shape[a] for a in axes), x.dtype

    def forward(self, x, *, axes):
        return np.transpose(x, axes)

    def backward(self, node, grad):
        axes = node.attrs["axes"]
        inverse = None if axes is None else tuple(int(i) for i in np.argsort(axes))
        return (transpose(grad, inverse),)

    def flops(self, node) -> int:
        return 0


def matmul(a, b, name=None) -> Node:
    """a @ b, as np.matmul defines it (op MatMul): vectors, matrices, and stacks of
    matrices whose leading dims broadcast."""
    return make_node(MatMul(), (a, b), name=name)


def transpose(x, axes=None, name=None) -> Node:
    """x with its axes permuted (reversed when axes is None); a view, no copy (op Transpose)."""
    x = as_node(x)
    if axes is not None:  # negative axes count from the end; the shape rule rejects the rest
        axes = tuple(int(a) % x.ndim if -x.ndim <= a < x.ndim else int(a) for a in axes)
    return make_node(Transpose(), (x,), {"axes": axes}, name=name)
