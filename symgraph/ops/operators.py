"""Python's operators on Node: `a + b` builds the same Node as `sg.add(a, b)`.

They live here, beside the ops they call, rather than in graph.py, because
graph.py must not import the ops (the ops import graph.py to build Nodes).
`attach()` is called once, when symgraph.ops is imported.
"""

from __future__ import annotations

from symgraph.graph import Node
from symgraph.ops import linalg, math, shape


def _swap(fn):
    """The reflected form: `2 * x` calls x.__rmul__(2), which must build mul(2, x)."""
    return lambda self, other: fn(other, self)


def attach() -> None:
    Node.__add__ = lambda self, other: math.add(self, other)
    Node.__radd__ = _swap(math.add)
    Node.__sub__ = lambda self, other: math.sub(self, other)
    Node.__rsub__ = _swap(math.sub)
    Node.__mul__ = lambda self, other: math.mul(self, other)
    Node.__rmul__ = _swap(math.mul)
    Node.__truediv__ = lambda self, other: math.div(self, other)
    Node.__rtruediv__ = _swap(math.div)
    Node.__pow__ = lambda self, other: math.pow(self, other)
    Node.__rpow__ = _swap(math.pow)
    Node.__matmul__ = lambda self, other: linalg.matmul(self, other)
    Node.__rmatmul__ = _swap(linalg.matmul)
    Node.__neg__ = lambda self: math.neg(self)
    Node.__abs__ = lambda self: math.abs(self)
    Node.__and__ = lambda self, other: math.logical_and(self, other)  # bools, as in TF1
    Node.__rand__ = _swap(math.logical_and)
    Node.__or__ = lambda self, other: math.logical_or(self, other)
    Node.__ror__ = _swap(math.logical_or)
    Node.__invert__ = lambda self: math.logical_not(self)
    Node.__gt__ = lambda self, other: math.greater(self, other)
    Node.__ge__ = lambda self, other: math.greater_equal(self, other)
    Node.__lt__ = lambda self, other: math.less(self, other)
    Node.__le__ = lambda self, other: math.less_equal(self, other)
    Node.__getitem__ = lambda self, index: shape.getitem(self, index)
    Node.T = property(lambda self: linalg.transpose(self))
