"""Elementwise math: arithmetic, exp/log, activations, comparisons, where, cast.

Most of these are one NumPy ufunc each, so they share one base class,
`Elementwise`: its shape rule is NumPy broadcasting and its dtype rule is
asked of the ufunc itself. Each op then only says which ufunc it is and what
its gradient is. Every gradient ends in `sum_to_shape`, which undoes
broadcasting: if `b` of shape (10,) was added to every row of a (32, 10)
batch, its gradient is the sum over those 32 rows.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError
from symgraph.graph import Node, as_node, checks_for, make_node
from symgraph.ops.base import Op, broadcast_shapes, is_float, known_dtype, ufunc_dtype
from symgraph.ops.shape import sum_to_shape


class Elementwise(Op):
    """An op that applies one NumPy ufunc elementwise, with broadcasting."""

    fresh_output = True  # returns a new array, never a view of an input

    abstract = True
    elementwise = True
    writes_out = True
    ufunc: np.ufunc

    def infer(self, *inputs):
        return broadcast_shapes(*inputs), ufunc_dtype(self.ufunc, *inputs)

    def forward(self, *arrays, out=None):
        return self.ufunc(*arrays, out=out)

    def kernel(self, **attrs):
        # A subclass that keeps this forward is exactly its ufunc: let the Program call it directly.
        if type(self).forward is Elementwise.forward and not attrs:
            return self.ufunc
        return super().kernel(**attrs)


# -- arithmetic ----------------------------------------------------------------------
class Add(Elementwise):
    ufunc = np.add

    def backward(self, node, grad):
        a, b = node.inputs
        return sum_to_shape(grad, a), sum_to_shape(grad, b)


class Sub(Elementwise):
    ufunc = np.subtract

    def backward(self, node, grad):
        a, b = node.inputs
        return sum_to_shape(grad, a), sum_to_shape(neg(grad), b)


class Mul(Elementwise):
    ufunc = np.multiply

    def backward(self, node, grad):
        a, b = node.inputs
        return sum_to_shape(grad * b, a), sum_to_shape(grad * a, b)


class Div(Elementwise):
    """True division: integers divide to floats, as in NumPy and Python 3."""

    ufunc = np.true_divide

    def backward(self, node, grad):
        a, b = node.inputs
        # d(a/b)/da = 1/b ;  d(a/b)/db = -a/b**2 = -(a/b)/b, reusing the output
        return sum_to_shape(grad / b, a), sum_to_shape(neg(grad * node / b), b)


class Neg(Elementwise):
    ufunc = np.negative

    def backward(self, node, grad):
        return (neg(grad),)


class Pow(Elementwise):
    ufunc = np.power

    def backward(self, node, grad):
        a, b = node.inputs
        # A Python-number exponent stays a Python number here, so that
        # float32 ** 3 gives a float32 gradient, as the forward did.
        p = b.value if b.weak else b
        # d(a**b)/da = b * a**(b-1). Where b is 0 that is 0, as PyTorch has it; the
        # formula would give 0 * 0**-1 = NaN at a = 0. The masked elements compute
        # with a base of 1 instead of a, so no NaN appears there in a higher-order
        # gradient either (a where() passes the masked branch a zero gradient, and
        # 0 * inf is still NaN).
        if not isinstance(p, Node):
            base = where(equal(a, 0), 1, a) if p == 0 else a  # x ** 0: no 0 * 0**-1
            d_a = grad * p * base ** (p - 1)
        else:
            zero = equal(p, 0)
            d_a = where(zero, 0, grad * p * where(zero, 1, a) ** (p - 1))
        # d(a**b)/db = log(a) * a**b, defined for a > 0. At a = 0 the result is 0 (for
        # b > 0), and the gradient is taken as 0 there, not log(0) * 0 = NaN: so a
        # learnable exponent over data with zeros trains (PyTorch and TF1 do the same).
        if a.weak:  # a Python number: log(2.0) is a float64 Node, keep 2.0 ** x's dtype
            log_a = cast(log(a if a.value != 0 else 1.0), node.dtype)
        else:
            log_a = log(where(equal(a, 0), 1, a))
        return sum_to_shape(d_a, a), sum_to_shape(grad * log_a * node, b)


class Maximum(Elementwise):
    ufunc = np.maximum

    def backward(self, node, grad):
        a, b = node.inputs
        a_wins = greater_equal(a, b)  # a tie sends the gradient to a
        return sum_to_shape(where(a_wins, grad, 0), a), sum_to_shape(where(a_wins, 0, grad), b)


class Minimum(Elementwise):
    ufunc = np.minimum

    def backward(self, node, grad):
        a, b = node.inputs
        a_wins = less_equal(a, b)
        return sum_to_shape(where(a_wins, grad, 0), a), sum_to_shape(where(a_wins, 0, grad), b)


# -- functions of one input -------------------------------------------------------------
class Exp(Elementwise):
    ufunc = np.exp

    def backward(self, node, grad):
        return (grad * node,)  # exp' = exp: reuse the output


class Log(Elementwise):
    ufunc = np.log

    def backward(self, node, grad):
        (x,) = node.inputs
        return (grad / x,)


class Sqrt(Elementwise):
    ufunc = np.sqrt

    def backward(self, node, grad):
        return (grad / (node * 2),)  # sqrt(x)' = 1 / (2 sqrt(x))


class Abs(Elementwise):
    ufunc = np.absolute

    def backward(self, node, grad):
        (x,) = node.inputs
        # sign(x) * grad, with sign(0) = 0, as PyTorch and TF1 take it: an L1 penalty
        # leaves a weight that is exactly 0 where it is
        return (where(greater(x, 0), grad, where(less(x, 0), neg(grad), 0)),)


class Tanh(Elementwise):
    ufunc = np.tanh

    def backward(self, node, grad):
        return (grad * (1 - node * node),)  # tanh' = 1 - tanh**2: reuse the output


class Sigmoid(Elementwise):
    """1 / (1 + exp(-x)), as PyTorch and TF compute it."""

    def infer(self, x):
        ufunc_dtype(np.negative, x)  # the kernel negates x: a bool x is an error now, not in a run
        return x.shape, ufunc_dtype(np.exp, x)

    def forward(self, x, out=None):
        # exp(-x) overflows to inf for x below about -709 (float64) or -88 (float32), and
        # 1 / (1 + inf) is then 0, the right value: that overflow is expected, and kept
        # quiet. (exp(-log(1 + exp(-x))) never overflows, but np.logaddexp is 5 to 20
        # times slower.) Each step writes into out when given; without it, a 0-d x gives
        # NumPy scalars.
        x = np.asarray(x)
        if x.dtype.kind not in "fc":
            # ints are negated as the floats they become: in uint8, -200 wraps to 56,
            # and in int8 -(-128) stays -128
            x = x.astype(np.exp(np.zeros((), x.dtype)).dtype)  # the float exp gives x's dtype
        with np.errstate(over="ignore"):
            t = np.exp(np.negative(x, out=out), out=out)
            return np.divide(1, np.add(t, 1, out=out), out=out)

    def backward(self, node, grad):
        return (grad * node * (1 - node),)  # sigmoid' = s (1 - s)


class Relu(Elementwise):
    def infer(self, x):
        return x.shape, np.result_type(x.dtype, 0)  # as max(x, 0): a bool x gives ints

    def forward(self, x, out=None):
        return np.maximum(x, 0, out=out)

    def backward(self, node, grad):
        (x,) = node.inputs
        return (where(greater(x, 0), grad, 0),)  # the mask: 1 where x > 0


class Softplus(Elementwise):
    """log(1 + exp(x)), stable: max(x, 0) + log(1 + exp(-|x|))."""

    def infer(self, x):
        return x.shape, ufunc_dtype(np.exp, x)

    def forward(self, x, out=None):
        return np.logaddexp(0, x, out=out)

    def backward(self, node, grad):
        (x,) = node.inputs
        return (grad * sigmoid(x),)


class Clip(Elementwise):
    """Limit values to [lo, hi]; the gradient passes only where x was inside."""

    def infer(self, x, *, lo, hi):
        if lo is not None and hi is not None and lo > hi:
            raise ShapeError(
                f"clip of {x.name}: lo={lo} is greater than hi={hi}",
                hint=f"give lo <= hi: sg.clip(x, {hi}, {lo})",
            )
        # the bounds are Python numbers, so they promote weakly: float32 stays float32,
        # ints clipped to ints stay ints, ints clipped to 0.5 become float64 (as in NumPy)
        return x.shape, np.result_type(x.dtype, *(b for b in (lo, hi) if b is not None))

    def forward(self, x, *, lo, hi, out=None):
        return np.clip(x, lo, hi, out=out)

    def backward(self, node, grad):
        (x,) = node.inputs
        lo, hi = node.attrs["lo"], node.attrs["hi"]
        if lo is not None:
            grad = where(less(x, lo), 0, grad)
        if hi is not None:
            grad = where(greater(x, hi), 0, grad)
        return (grad,)


class Where(Op):
    """where(cond, a, b): a where cond is true, else b (broadcast together)."""

    fresh_output = True  # returns a new array, never a view of an input

    elementwise = True
    writes_out = False

    def infer(self, cond, a, b):
        if cond.dtype != np.bool_:
            raise ShapeError(
                f"where needs a bool condition, got {cond.name} of dtype {cond.dtype}",
                hint="build the condition with a comparison, e.g. sg.greater(x, 0)",
            )
        return broadcast_shapes(cond, a, b), ufunc_dtype(np.add, a, b)

    def forward(self, cond, a, b):
        return np.where(cond, a, b)

    def backward(self, node, grad):
        cond, a, b = node.inputs
        return (
            None,  # the condition gets no gradient
            sum_to_shape(where(cond, grad, 0), a),
            sum_to_shape(where(cond, 0, grad), b),
        )


# -- comparisons and cast: piecewise constant, so gradients stop here --------------------
class Compare(Elementwise):
    abstract = True
    differentiable = False

    def backward(self, node, grad):
        return (None, None)


class Logical(Elementwise):
    """and, or, not of bools, as TF1's logical ops: bools only (on ints, & and | would
    be bitwise in NumPy, another meaning); no gradient."""

    abstract = True
    differentiable = False

    def infer(self, *inputs):
        for x in inputs:
            if x.dtype != np.bool_:
                raise ShapeError(
                    f"{self.name} needs bools, got {x.name} of dtype {x.dtype}",
                    hint="build bools with a comparison, e.g. (x > 0) & (x < 1), or "
                    "sg.cast(x, 'bool')",
                )
        return super().infer(*inputs)

    def backward(self, node, grad):
        return (None,) * len(node.inputs)


class LogicalAnd(Logical):
    ufunc = np.logical_and


class LogicalOr(Logical):
    ufunc = np.logical_or


class LogicalNot(Logical):
    ufunc = np.logical_not


class Greater(Compare):
    ufunc = np.greater


class GreaterEqual(Compare):
    ufunc = np.greater_equal


class Less(Compare):
    ufunc = np.less


class LessEqual(Compare):
    ufunc = np.less_equal


class Equal(Compare):
    ufunc = np.equal


class NotEqual(Compare):
    ufunc = np.not_equal


class Cast(Op):
    """Convert to another dtype. Between float dtypes the gradient flows (cast back);
    to or from integers and bools there is none."""

    fresh_output = True  # returns a new array, never a view of an input

    elementwise = True

    def infer(self, x, *, dtype):
        return x.shape, np.dtype(dtype)

    def forward(self, x, *, dtype):
        return np.asarray(x).astype(dtype)

    def backward(self, node, grad):
        (x,) = node.inputs
        if is_float(x.dtype) and is_float(node.dtype):
            return (cast(grad, x.dtype),)
        return (None,)


# -- the functions users call ---------------------------------------------------------
def add(a, b, name=None) -> Node:
    """a + b, elementwise with NumPy broadcasting (op Add)."""
    return make_node(Add(), (a, b), name=name)


def sub(a, b, name=None) -> Node:
    """a - b, elementwise with NumPy broadcasting (op Sub)."""
    return make_node(Sub(), (a, b), name=name)


def mul(a, b, name=None) -> Node:
    """a * b, elementwise with NumPy broadcasting (op Mul)."""
    return make_node(Mul(), (a, b), name=name)


def div(a, b, name=None) -> Node:
    """a / b, true division: integers divide to floats (op Div)."""
    return make_node(Div(), (a, b), name=name)


def neg(x, name=None) -> Node:
    """-x (op Neg)."""
    return make_node(Neg(), (x,), name=name)


def pow(a, b, name=None) -> Node:  # noqa: A001 - the public name DESIGN.md fixes
    """a ** b, elementwise with broadcasting (op Pow); the gradient for b is log(a) * a**b,
    for a > 0 (taken as 0 where a is 0, as PyTorch does)."""
    return make_node(Pow(), (a, b), name=name)


def maximum(a, b, name=None) -> Node:
    """The larger of a and b, elementwise; a tie sends the gradient to a, as in TF1 (op Maximum)."""
    return make_node(Maximum(), (a, b), name=name)


def minimum(a, b, name=None) -> Node:
    """The smaller of a and b, elementwise; a tie sends the gradient to a (op Minimum)."""
    return make_node(Minimum(), (a, b), name=name)


def exp(x, name=None) -> Node:
    """e ** x, elementwise (op Exp)."""
    return make_node(Exp(), (x,), name=name)


def log(x, name=None) -> Node:
    """Natural logarithm, elementwise (op Log)."""
    return make_node(Log(), (x,), name=name)


def sqrt(x, name=None) -> Node:
    """Square root, elementwise (op Sqrt)."""
    return make_node(Sqrt(), (x,), name=name)


def abs(x, name=None) -> Node:  # noqa: A001
    """|x|, elementwise (op Abs); the gradient at 0 is 0, as in PyTorch and TF1."""
    return make_node(Abs(), (x,), name=name)


def tanh(x, name=None) -> Node:
    """Hyperbolic tangent, elementwise; its gradient is computed from the output, 1 - y**2 (op Tanh)."""
    return make_node(Tanh(), (x,), name=name)


def sigmoid(x, name=None) -> Node:
    """1 / (1 + exp(-x)), computed so that no exp overflows (op Sigmoid)."""
    return make_node(Sigmoid(), (x,), name=name)


def relu(x, name=None) -> Node:
    """max(x, 0), elementwise (op Relu); the gradient at 0 is 0."""
    return make_node(Relu(), (x,), name=name)


def softplus(x, name=None) -> Node:
    """log(1 + exp(x)), computed stably (op Softplus)."""
    return make_node(Softplus(), (x,), name=name)


def clip(x, lo=None, hi=None, name=None) -> Node:
    """x limited to [lo, hi] (either may be None); no gradient where x was outside (op Clip)."""
    lo, hi = (_python_number(b) for b in (lo, hi))
    return make_node(Clip(), (x,), {"lo": lo, "hi": hi}, name=name)


def _python_number(value):
    """None, or the value as a Python int or float (weakly typed, like NumPy's bounds)."""
    if value is None:
        return None
    if isinstance(value, Node):
        if value.op.name != "constant" or value.shape != ():
            raise ShapeError(
                f"clip's bounds must be numbers, known when the graph is built; got {value.name} "
                f"({value.op.name}, shape {value.shape})",
                hint="for bounds computed in the graph use sg.minimum(sg.maximum(x, lo), hi)",
            )
        value = value.value  # a constant number: use it
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def where(cond, a, b, name=None) -> Node:
    """a where cond is true, else b, broadcast together (op Where); cond must be bool.

    The gradient goes to a where cond is true and to b elsewhere, but the branch not
    taken still has its own gradient computed, times 0: where that is inf or NaN, so is
    the result (0 * inf is NaN), as in TF1 and PyTorch. So sg.where(x > 0, sg.sqrt(x), 0)
    has a NaN gradient at x = 0. Keep the unused branch's input safe instead:
    sg.where(x > 0, sg.sqrt(sg.where(x > 0, x, 1.0)), 0).
    """
    return make_node(Where(), (cond, a, b), name=name)


def logical_and(a, b, name=None) -> Node:
    """a and b, elementwise, for bools; `a & b` (op LogicalAnd)."""
    return make_node(LogicalAnd(), (a, b), name=name)


def logical_or(a, b, name=None) -> Node:
    """a or b, elementwise, for bools; `a | b` (op LogicalOr)."""
    return make_node(LogicalOr(), (a, b), name=name)


def logical_not(a, name=None) -> Node:
    """not a, elementwise, for bools; `~a` (op LogicalNot)."""
    return make_node(LogicalNot(), (a,), name=name)


def greater(a, b, name=None) -> Node:
    """a > b, elementwise, as bools; no gradient (op Greater)."""
    return make_node(Greater(), (a, b), name=name)


def greater_equal(a, b, name=None) -> Node:
    """a >= b, elementwise, as bools; no gradient (op GreaterEqual)."""
    return make_node(GreaterEqual(), (a, b), name=name)


def less(a, b, name=None) -> Node:
    """a < b, elementwise, as bools; no gradient (op Less)."""
    return make_node(Less(), (a, b), name=name)


def less_equal(a, b, name=None) -> Node:
    """a <= b, elementwise, as bools; no gradient (op LessEqual)."""
    return make_node(LessEqual(), (a, b), name=name)


def equal(a, b, name=None) -> Node:
    """a == b, elementwise, as bools; no gradient (op Equal). (`==` on Nodes compares identity.)"""
    return make_node(Equal(), (a, b), name=name)


def not_equal(a, b, name=None) -> Node:
    """a != b, elementwise, as bools; no gradient (op NotEqual)."""
    return make_node(NotEqual(), (a, b), name=name)


def cast(x, dtype, name=None) -> Node:
    """x converted to `dtype` (op Cast); the gradient flows between float dtypes only."""
    x = as_node(x)
    with checks_for(Cast(), (x,), name):
        dtype = known_dtype(dtype, f"cast of {x.name} to dtype")
    return make_node(Cast(), (x,), {"dtype": dtype.name}, name=name)
