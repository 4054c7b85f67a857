"""Linear algebra: matmul and transpose.

matmul covers what a small network needs: matrix @ matrix, matrix @ vector,
vector @ matrix and vector @ vector (a dot product), with NumPy's meaning.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import Node, as_node, make_node
from symgraph.ops.base import Op, num_elements, ufunc_dtype
from symgraph.ops.shape import expand_dims


class MatMul(Op):
    """a @ b for 1-D and 2-D operands."""

    fresh_output = True  # returns a new array, never a view of an input

    name = "matmul"

    writes_out = True

    def infer(self, a, b):
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise ShapeError(
                f"matmul of {a.name} {shape_str(a.shape)} and {b.name} {shape_str(b.shape)}: "
                "only 1-D and 2-D operands are supported",
                hint="reshape the operands to 2-D, e.g. sg.reshape(x, (-1, features))",
            )
        k_a = a.shape[-1]
        k_b = b.shape[0]
        if k_a is not None and k_b is not None and k_a != k_b:
            raise ShapeError(
                f"matmul of {a.name} {shape_str(a.shape)} and {b.name} {shape_str(b.shape)}: "
                f"inner dimensions {k_a} and {k_b} differ",
                hint=f"the last dim of {a.name} must equal the first dim of {b.name}",
            )
        shape = a.shape[:-1] + b.shape[1:]
        return shape, ufunc_dtype(np.matmul, a, b)

    def forward(self, a, b, out=None):
        return np.matmul(a, b, out=out)

    def kernel(self, **attrs):
        return np.matmul  # forward is exactly np.matmul: call it directly

    def backward(self, node, grad):
        a, b = node.inputs
        if a.ndim == 2 and b.ndim == 2:
            return grad @ transpose(b), transpose(a) @ grad
        if a.ndim == 2:  # (m, k) @ (k,) -> (m,)
            return expand_dims(grad, 1) * b, transpose(a) @ grad
        if b.ndim == 2:  # (k,) @ (k, n) -> (n,)
            return b @ grad, expand_dims(a, 1) * grad
        return grad * b, grad * a  # (k,) @ (k,) -> ()

    def flops(self, node) -> int:
        a, _ = node.inputs
        return 2 * num_elements(node.shape) * (a.shape[-1] or 1)


class Transpose(Op):
    """Permute the axes (reverse them when axes is None). A view: no copy."""

    returns_view = True  # a view of x: no memory of its own (see Op)

    def infer(self, x, *, axes):
        if axes is None:
            return x.shape[::-1], x.dtype
        if sorted(axes) != list(range(x.ndim)):
            raise ShapeError(
                f"transpose of {x.name} {shape_str(x.shape)}: axes {axes} are not a "
                f"permutation of 0..{x.ndim - 1}"
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
    """a @ b for 1-D and 2-D operands, as NumPy defines it (op MatMul)."""
    return make_node(MatMul(), (a, b), name=name)


def transpose(x, axes=None, name=None) -> Node:
    """x with its axes permuted (reversed when axes is None); a view, no copy (op Transpose)."""
    x = as_node(x)
    if axes is not None:  # negative axes count from the end; the shape rule rejects the rest
        axes = tuple(int(a) % x.ndim if -x.ndim <= a < x.ndim else int(a) for a in axes)
    return make_node(Transpose(), (x,), {"axes": axes}, name=name)
