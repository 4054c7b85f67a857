"""The op table: one source of truth for which ops exist and how each is tested.

Every op in `symgraph.ops.base.REGISTRY` has at least one `Case` here (test_registry.py
fails until a new op is added). Each case says which symgraph function to call, the
NumPy reference it must agree with, and its inputs: a shape and the *domain* the values
are drawn from, chosen so that central differences never straddle a kink or a tie:

    real            uniform in [-2, 2]
    positive        uniform in [0.5, 2]                      (log, sqrt, the base of pow)
    away_from_zero  |x| in [0.5, 2], either sign             (abs, relu, a divisor)
    off_clip_edges  |x| in [0, 0.4] or [0.6, 2]              (clip to [-0.5, 0.5])
    distinct        all values of the case's distinct inputs differ by >= 0.3 (max, maximum)
    small_ints      integers in [-2, 2], as floats           (comparisons: ties happen)
    nonzero_ints    integers in [-3, 3] without 0, as int64  (integer division)
    ids             integers in [0, high), int64              (labels, embedding ids)
    bool            random True/False                         (the condition of where)

Float inputs take the dtype under test (float64 or float32); ids, bools and inputs
with an explicit `dtype` keep theirs. The tables ELEMENTWISE and AXIS_OPS are
templates: they make the fixed cases below over standard shapes, and
test_properties.py draws random shapes and axes for the very same entries.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import symgraph as sg
from symgraph.graph import make_node
from symgraph.ops import shape as shape_ops
from symgraph.ops.nn import EmbeddingGrad, SoftmaxCrossEntropyGrad
from symgraph.ops.random import random_uniform
from symgraph.ops.reduce import ReducedCount
from symgraph.ops.shape import ConcatPart, GetItemGrad, Reshape, _encode_index, scatter_slices

FLOAT_DTYPES = ("float64", "float32")


# -- the two records -----------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """One input of a case: a Placeholder of `declared` shape (default `shape`), fed `shape`."""

    shape: tuple
    domain: str = "real"
    dtype: str | None = None  # None: the float dtype under test (or the domain's own dtype)
    high: int = 0  # ids: values in [0, high)
    declared: tuple | None = None  # the Placeholder's shape, when it has None dims

    def dtype_for(self, float_dtype: str) -> np.dtype:
        if self.dtype is not None:
            return np.dtype(self.dtype)
        if self.domain in ("ids", "nonzero_ints"):
            return np.dtype("int64")
        if self.domain == "bool":
            return np.dtype("bool")
        return np.dtype(float_dtype)

    @property
    def placeholder_shape(self) -> tuple:
        return self.shape if self.declared is None else self.declared


@dataclass(frozen=True)
class Case:
    """One way to call one op, with the NumPy answer it must give."""

    op: str  # the REGISTRY name this case is for
    label: str  # what is special about it; `id` is op-label
    fn: Callable  # Nodes -> Node
    ref: Callable  # arrays -> the array the Node (or, for an update, `observe`) must give
    inputs: tuple
    differentiable: bool = True
    second_order: bool = False  # also check the gradient of its gradient
    observe: Callable | None = None  # update ops: Node -> the Node to fetch after the run
    grad_check: dict | None = None  # arguments for check_gradients, where defaults do not fit

    @property
    def id(self) -> str:
        return f"{self.op}-{self.label}"


# -- drawing inputs from their domains ---------------------------------------------------
def sample(inputs, float_dtype="float64", seed=0) -> list[np.ndarray]:
    """Arrays for `inputs`, each drawn from its domain; the same seed gives the same arrays."""
    rng = np.random.default_rng(seed)
    sizes = [int(np.prod(i.shape, dtype=np.int64)) for i in inputs]
    n_distinct = sum(s for i, s in zip(inputs, sizes) if i.domain == "distinct")
    # One pool for all distinct inputs: maximum(a, b) then never sees a tie between a and b.
    pool = list((rng.permutation(n_distinct) - n_distinct / 2) * 0.3)
    arrays = []
    for spec, size in zip(inputs, sizes):
        shape, dtype = spec.shape, spec.dtype_for(float_dtype)
        if spec.domain == "real":
            a = rng.uniform(-2, 2, shape)
        elif spec.domain == "positive":
            a = rng.uniform(0.5, 2, shape)
        elif spec.domain == "away_from_zero":
            a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2, shape)
        elif spec.domain == "off_clip_edges":
            near = rng.random(shape) < 0.5
            a = rng.choice([-1.0, 1.0], shape) * np.where(
                near, rng.uniform(0, 0.4, shape), rng.uniform(0.6, 2, shape)
            )
        elif spec.domain == "distinct":
            a = np.reshape(pool[:size], shape)
            pool = pool[size:]
        elif spec.domain == "small_ints":
            a = rng.integers(-2, 3, shape)
        elif spec.domain == "nonzero_ints":
            a = rng.choice([-3, -2, -1, 1, 2, 3], shape)
        elif spec.domain == "ids":
            a = rng.integers(0, spec.high, shape)
        elif spec.domain == "bool":
            a = rng.random(shape) < 0.5
        else:
            raise ValueError(f"unknown domain {spec.domain!r}")
        arrays.append(np.asarray(a).astype(dtype))
    return arrays


def seed_of(text: str) -> int:
    """A seed that depends only on the text (Python's hash() changes from run to run)."""
    return zlib.crc32(text.encode())


def build(case: Case, float_dtype: str):
    """Placeholders for the case's inputs and its Node, in the current default Graph."""
    placeholders = [
        sg.Placeholder(spec.placeholder_shape, dtype=spec.dtype_for(float_dtype), name=f"in{i}")
        for i, spec in enumerate(case.inputs)
    ]
    return placeholders, case.fn(*placeholders)


def run_case(case, float_dtype, seed=None):
    """Build the case in a fresh Graph, run it on inputs from its domains.

    Returns (the Node whose value is checked, that value, the input arrays). For an
    update op, running it answers None and the checked value is `case.observe(node)`.
    """
    arrays = sample(case.inputs, float_dtype, seed_of(case.id) if seed is None else seed)
    graph = sg.Graph()
    with graph.as_default():
        placeholders, node = build(case, float_dtype)
        checked = node if case.observe is None else case.observe(node)
    with sg.Session(graph) as sess:
        answer = sess.run(node, dict(zip(placeholders, arrays)))
        if case.observe is not None:
            assert answer is None, "running an update Node answers None"
            answer = sess.run(checked)
    return checked, np.asarray(answer), arrays


# -- NumPy references for the ops NumPy does not have ----------------------------------------
def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softplus(x):
    return np.log1p(np.exp(x))


def np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def np_one_hot(labels, depth, dtype):
    return (labels[..., None] == np.arange(depth)).astype(dtype)


def np_cross_entropy(logits, labels):
    picked = np.take_along_axis(np_log_softmax(logits), labels[..., None], axis=-1)
    return np.asarray(-np.mean(picked), dtype=logits.dtype)


def np_cross_entropy_grad(logits, labels):
    onehot = np_one_hot(labels, logits.shape[-1], logits.dtype)
    return (np_softmax(logits) - onehot) / max(labels.size, 1)


def np_embedding_grad(grad, ids, like):
    out = np.zeros(like.shape, dtype=grad.dtype)
    np.add.at(out, ids.reshape(-1), grad.reshape(-1, like.shape[1]))
    return out


def np_scatter_slices(like, grads, indices):
    out = np.zeros(like.shape, dtype=np.result_type(*grads))
    for grad, index in zip(grads, indices):
        out[index] += grad
    return out


def np_getitem_grad(index):
    def ref(grad, like):
        out = np.zeros(like.shape, dtype=grad.dtype)
        out[index] = grad
        return out

    return ref


# -- templates: elementwise ops and ops with an axis ------------------------------------------
@dataclass(frozen=True)
class ElementwiseOp:
    """An elementwise op: any broadcast-compatible shapes, one domain per input."""

    op: str
    fn: Callable
    ref: Callable
    domains: tuple
    differentiable: bool = True
    second_order: bool = False

    def inputs(self, shapes) -> tuple:
        return tuple(Input(tuple(s), d) for s, d in zip(shapes, self.domains))


def clip_ref(x):
    return np.clip(x, -0.5, 0.5)


ELEMENTWISE = [
    ElementwiseOp("add", sg.add, np.add, ("real", "real")),
    ElementwiseOp("sub", sg.sub, np.subtract, ("real", "real")),
    ElementwiseOp("mul", sg.mul, np.multiply, ("real", "real"), second_order=True),
    ElementwiseOp("div", sg.div, np.divide, ("real", "away_from_zero"), second_order=True),
    ElementwiseOp("pow", sg.pow, np.power, ("positive", "real"), second_order=True),
    ElementwiseOp("maximum", sg.maximum, np.maximum, ("distinct", "distinct")),
    ElementwiseOp("minimum", sg.minimum, np.minimum, ("distinct", "distinct")),
    ElementwiseOp("neg", sg.neg, np.negative, ("real",)),
    ElementwiseOp("exp", sg.exp, np.exp, ("real",), second_order=True),
    ElementwiseOp("log", sg.log, np.log, ("positive",), second_order=True),
    ElementwiseOp("sqrt", sg.sqrt, np.sqrt, ("positive",), second_order=True),
    ElementwiseOp("abs", sg.abs, np.abs, ("away_from_zero",)),
    ElementwiseOp("tanh", sg.tanh, np.tanh, ("real",), second_order=True),
    ElementwiseOp("sigmoid", sg.sigmoid, np_sigmoid, ("real",), second_order=True),
    ElementwiseOp("relu", sg.relu, lambda x: np.maximum(x, 0), ("away_from_zero",)),
    ElementwiseOp("softplus", sg.softplus, np_softplus, ("real",), second_order=True),
    ElementwiseOp("clip", lambda x: sg.clip(x, -0.5, 0.5), clip_ref, ("off_clip_edges",)),
    ElementwiseOp("where", sg.where, np.where, ("bool", "real", "real")),
    ElementwiseOp("greater", sg.greater, np.greater, ("small_ints", "small_ints"), False),
    ElementwiseOp("greater_equal", sg.greater_equal, np.greater_equal, ("small_ints",) * 2, False),
    ElementwiseOp("less", sg.less, np.less, ("small_ints", "small_ints"), False),
    ElementwiseOp("less_equal", sg.less_equal, np.less_equal, ("small_ints", "small_ints"), False),
    ElementwiseOp("equal", sg.equal, np.equal, ("small_ints", "small_ints"), False),
    ElementwiseOp("not_equal", sg.not_equal, np.not_equal, ("small_ints", "small_ints"), False),
    ElementwiseOp("logical_and", sg.logical_and, np.logical_and, ("bool", "bool"), False),
    ElementwiseOp("logical_or", lambda a, b: a | b, np.logical_or, ("bool", "bool"), False),
    ElementwiseOp("logical_not", lambda a: ~a, np.logical_not, ("bool",), False),
]

# Shapes every elementwise op is tested on: odd shapes for one input; for two or
# three, broadcasting pairs (a (3,1) column with a (4,) row, a 0-d scalar with a matrix, ...).
UNARY_SHAPES = [(3, 4), (), (1,), (5,), (1, 1), (2, 3, 4)]
BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (4,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 3, 4), (3, 1)),
    ((1,), (5,)),
    ((1, 1), (2, 1)),
    ((), ()),
]
TERNARY_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()), ((), (2, 3), (1, 3))]


@dataclass(frozen=True)
class AxisOp:
    """An op with an `axis` (and maybe `keepdims`): sum, mean, max, argmax, softmax, ...

    `axes` says what axis may be: "many" (None, an int or a tuple), "one_or_none" or "one".
    """

    op: str
    fn: Callable  # (x, axis, keepdims) -> Node
    ref: Callable  # (a, axis, keepdims) -> array
    domain: str
    axes: str = "many"
    keepdims: bool = True  # does the op take keepdims?
    differentiable: bool = True
    second_order: bool = False


AXIS_OPS = [
    AxisOp("sum", sg.sum, np.sum, "real"),
    AxisOp("mean", sg.mean, np.mean, "real"),
    AxisOp("max", sg.max, np.max, "distinct"),
    AxisOp(
        "argmax",
        lambda x, axis, keepdims: sg.argmax(x, axis),
        lambda a, axis, keepdims: np.argmax(a, axis=axis),
        "distinct",
        axes="one_or_none",
        keepdims=False,
        differentiable=False,
    ),
    AxisOp(
        "softmax",
        lambda x, axis, keepdims: sg.softmax(x, axis),
        lambda a, axis, keepdims: np_softmax(a, axis),
        "real",
        axes="one",
        keepdims=False,
        second_order=True,
    ),
    AxisOp(
        "log_softmax",
        lambda x, axis, keepdims: sg.log_softmax(x, axis),
        lambda a, axis, keepdims: np_log_softmax(a, axis),
        "real",
        axes="one",
        keepdims=False,
        second_order=True,
    ),
]

# (shape, axis, keepdims) variants: None, int, negative, tuple and negative-tuple axes.
AXIS_VARIANTS = [
    ((3, 4), None, False),
    ((3, 4), None, True),
    ((3, 4), 0, False),
    ((3, 4), 1, True),
    ((3, 4), -1, False),
    ((3, 4), (0, 1), False),
    ((2, 3, 4), (0, 2), True),
    ((2, 3, 4), -2, False),
    ((2, 3, 4), (-1, 0), False),
    ((), None, False),
    ((5,), 0, True),
    ((1, 1), None, True),
    ((1, 3), 0, False),
]


def _axis_fits(op: AxisOp, shape, axis, keepdims) -> bool:
    if keepdims and not op.keepdims:
        return False
    if op.axes == "one":
        return isinstance(axis, int) and len(shape) > 0
    if op.axes == "one_or_none":
        return axis is None or isinstance(axis, int)
    return True


def _axis_case(op: AxisOp, shape, axis, keepdims, declared=None) -> Case:
    label = f"{shape}-axis{axis}" + ("-keepdims" if keepdims else "")
    return Case(
        op.op,
        label.replace(" ", ""),
        lambda x: op.fn(x, axis, keepdims),
        lambda a: op.ref(a, axis=axis, keepdims=keepdims),
        (Input(shape, op.domain, declared=declared),),
        op.differentiable,
        op.second_order,
    )


def _template_cases() -> list[Case]:
    cases = []
    for e in ELEMENTWISE:
        shape_list = {1: UNARY_SHAPES, 2: BINARY_SHAPES, 3: TERNARY_SHAPES}[len(e.domains)]
        for shapes in shape_list:
            shapes = shapes if len(e.domains) > 1 else (shapes,)
            label = "x".join(str(s) for s in shapes).replace(" ", "")
            cases.append(
                Case(e.op, label, e.fn, e.ref, e.inputs(shapes), e.differentiable, e.second_order)
            )
    for op in AXIS_OPS:
        for shape, axis, keepdims in AXIS_VARIANTS:
            if _axis_fits(op, shape, axis, keepdims):
                cases.append(_axis_case(op, shape, axis, keepdims))
    return cases


# -- helpers for the hand-written cases ------------------------------------------------------
def real(*shape, declared=None) -> Input:
    return Input(tuple(shape), "real", declared=declared)


def ids(*shape, high, declared=None) -> Input:
    return Input(tuple(shape), "ids", high=high, declared=declared)


def like(*shape, declared=None) -> Input:
    """An input only read for its shape: int64, so no gradient is asked of it."""
    return Input(tuple(shape), "ids", high=3, declared=declared)


def index_attr(index) -> dict:
    return {"index": _encode_index(index)}


def _assign_into(shape):
    return lambda x: sg.assign(sg.Variable(np.zeros(shape, dtype=x.dtype), name="v"), x)


def _group_of_two(a, b):
    first = sg.assign(sg.Variable(np.zeros(a.shape, dtype=a.dtype), name="v1"), a)
    second = sg.assign(sg.Variable(np.zeros(b.shape, dtype=b.dtype), name="v2"), b * 2)
    return sg.group(first, second)


def _variables_updated(group_node):
    return sg.concat([update.inputs[0] for update in group_node.inputs])


# -- hand-written cases: what templates cannot say ------------------------------------------------
HAND_CASES = [
    # Python numbers stay weak (a float32 x * 2.0 stays float32); reflected operators.
    Case("mul", "weak-float", lambda x: x * 2.0, lambda a: a * 2.0, (real(3, 4),)),
    Case("sub", "reflected-weak-int", lambda x: 1 - x, lambda a: 1 - a, (real(3, 4),)),
    Case("add", "numpy-array-on-the-left", lambda x: np.ones(4) + x, lambda a: np.ones(4) + a,
         (real(3, 4),)),
    Case("div", "reflected", lambda x: 1 / x, lambda a: 1 / a,
         (Input((2, 3), "away_from_zero"),), second_order=True),
    Case("pow", "cube", lambda x: x**3, lambda a: a**3, (real(2, 3),), second_order=True),
    Case("pow", "weak-base", lambda x: 2.0**x, lambda a: 2.0**a, (real(5,),)),
    Case("pow", "square-root-exponent", lambda x: x**0.5, lambda a: a**0.5,
         (Input((4,), "positive"),)),
    Case("neg", "operator", lambda x: -x, lambda a: -a, (real(3,),)),
    Case("abs", "operator", lambda x: abs(x), np.abs, (Input((3,), "away_from_zero"),)),
    Case("greater", "operator-with-weak-zero", lambda x: x > 0, lambda a: a > 0,
         (Input((3, 4), "small_ints"),), differentiable=False),
    Case("less_equal", "operator", lambda x, y: x <= y, lambda a, b: a <= b,
         (Input((3, 1), "small_ints"), Input((4,), "small_ints")), differentiable=False),
    Case("clip", "lower-bound-only", lambda x: sg.clip(x, lo=0.5), lambda a: np.maximum(a, 0.5),
         (Input((3, 4), "off_clip_edges"),)),
    Case("clip", "upper-bound-only", lambda x: sg.clip(x, hi=-0.5), lambda a: np.minimum(a, -0.5),
         (Input((3, 4), "off_clip_edges"),)),
    Case("where", "weak-zero-branch", lambda c, x: sg.where(c, x, 0), lambda c, a: np.where(c, a, 0),
         (Input((3, 4), "bool"), real(3, 4))),
    Case("add", "unknown-batch-dim", sg.add, np.add, (real(3, 4, declared=(None, 4)), real(4,))),
    # Integers: true division gives float64; sums of ints stay ints.
    Case("div", "int64-by-int64", sg.div, np.divide,
         (Input((3,), "nonzero_ints"), Input((3,), "nonzero_ints")), differentiable=False),
    Case("sum", "int64", sg.sum, np.sum, (Input((3, 4), "ids", high=5),), differentiable=False),
    Case("sum", "bools-count-as-int64", lambda c: sg.sum(c, axis=0), lambda c: np.sum(c, axis=0),
         (Input((3, 4), "bool"),), differentiable=False),
    Case("mean", "int64-gives-float64", sg.mean, np.mean, (Input((3, 4), "ids", high=5),),
         differentiable=False),
    Case("clip", "int64-to-int-bounds-stays-int64", lambda x: sg.clip(x, 1, 3),
         lambda a: np.clip(a, 1, 3), (Input((3, 4), "ids", high=5),), differentiable=False),
    Case("clip", "int64-to-a-float-bound-is-float64", lambda x: sg.clip(x, 0.5),
         lambda a: np.clip(a, 0.5, None), (Input((3, 4), "ids", high=5),), differentiable=False),
    Case("relu", "bool-gives-int64", sg.relu, lambda c: np.maximum(c, 0), (Input((3,), "bool"),),
         differentiable=False),
    Case("sigmoid", "int64-gives-float64", sg.sigmoid, np_sigmoid,
         (Input((3,), "nonzero_ints"),), differentiable=False),
    Case("softplus", "int64-gives-float64", sg.softplus, np_softplus,
         (Input((3,), "nonzero_ints"),), differentiable=False),
    Case("mean", "unknown-batch-dim", lambda x: sg.mean(x, axis=0), lambda a: np.mean(a, axis=0),
         (real(3, 4, declared=(None, 4)),)),
    Case("mean", "mse", lambda p, t: sg.mse(p, t), lambda p, t: np.mean((p - t) ** 2),
         (real(4, 3), real(4, 3)), second_order=True),
    Case("sum", "unknown-batch-dim", lambda x: sg.sum(x, axis=1), lambda a: np.sum(a, axis=1),
         (real(3, 4, declared=(None, 4)),)),
    Case("max", "unknown-batch-dim", lambda x: sg.max(x, axis=-1, keepdims=True),
         lambda a: np.max(a, axis=-1, keepdims=True),
         (Input((3, 4), "distinct", declared=(None, 4)),)),
    # cast: between floats the gradient flows; to integers it stops.
    Case("cast", "to-float64", lambda x: sg.cast(x, "float64"), lambda a: a.astype("float64"),
         (real(3, 4),)),
    # (a float32 result is too coarse for eps=1e-6 differences; cast is linear, so a big eps is exact)
    Case("cast", "to-float32", lambda x: sg.cast(x, "float32"), lambda a: a.astype("float32"),
         (real(3, 4),), grad_check={"eps": 1e-2, "rtol": 1e-4, "atol": 1e-6}),
    Case("cast", "to-int64", lambda x: sg.cast(x, "int64"), lambda a: a.astype("int64"),
         (real(3, 4),), differentiable=False),
    Case("cast", "bool-to-float", lambda c: sg.cast(c, "float32"), lambda c: c.astype("float32"),
         (Input((3,), "bool"),), differentiable=False),
    # matmul: 2-D @ 2-D, 2-D @ 1-D, 1-D @ 2-D, 1-D @ 1-D, the operator, an unknown batch dim.
    Case("matmul", "2d@2d", sg.matmul, np.matmul, (real(3, 4), real(4, 2)), second_order=True),
    Case("matmul", "2d@1d", sg.matmul, np.matmul, (real(3, 4), real(4,)), second_order=True),
    Case("matmul", "1d@2d", sg.matmul, np.matmul, (real(4,), real(4, 2)), second_order=True),
    Case("matmul", "1d@1d", sg.matmul, np.matmul, (real(4,), real(4,)), second_order=True),
    Case("matmul", "1x1@1x1", sg.matmul, np.matmul, (real(1, 1), real(1, 1))),
    Case("matmul", "operator", lambda a, b: a @ b, np.matmul, (real(2, 3), real(3, 2))),
    Case("matmul", "unknown-batch-dim", sg.matmul, np.matmul,
         (real(5, 3, declared=(None, 3)), real(3, 2))),
    # stacks of matrices, as np.matmul: one weight for every row of a sequence batch
    # (nn.Linear on 3-D), a stack each, batch dims that broadcast, 1-D with a stack
    Case("matmul", "3d@2d", sg.matmul, np.matmul, (real(2, 3, 4), real(4, 5)), second_order=True),
    Case("matmul", "3d@2d-unknown-batch", sg.matmul, np.matmul,
         (real(2, 3, 4, declared=(None, 3, 4)), real(4, 5))),
    Case("matmul", "2d@3d", sg.matmul, np.matmul, (real(3, 4), real(2, 4, 5)), second_order=True),
    Case("matmul", "3d@3d", sg.matmul, np.matmul, (real(2, 3, 4), real(2, 4, 5)), second_order=True),
    Case("matmul", "batch-broadcast", sg.matmul, np.matmul, (real(2, 1, 3, 4), real(5, 4, 2))),
    Case("matmul", "1d@3d", sg.matmul, np.matmul, (real(4,), real(2, 4, 3)), second_order=True),
    Case("matmul", "3d@1d", sg.matmul, np.matmul, (real(2, 3, 4), real(4,)), second_order=True),
    # transpose
    Case("transpose", "2d", sg.transpose, np.transpose, (real(3, 4),)),
    Case("transpose", "dot-T", lambda x: x.T, lambda a: a.T, (real(2, 3, 4),)),
    Case("transpose", "axes", lambda x: sg.transpose(x, (2, 0, 1)),
         lambda a: np.transpose(a, (2, 0, 1)), (real(2, 3, 4),)),
    Case("transpose", "negative-axes", lambda x: sg.transpose(x, (-1, 0, 1)),
         lambda a: np.transpose(a, (2, 0, 1)), (real(2, 3, 4),)),
    Case("transpose", "1d", sg.transpose, np.transpose, (real(5,),)),
    Case("transpose", "0d", sg.transpose, np.transpose, (real(),)),
    Case("transpose", "unknown-batch-dim", lambda x: x.T, np.transpose,
         (real(5, 3, declared=(None, 3)),)),
    # reshape, with -1, to and from 0-d, and to the shape of a `like` input (None dims)
    Case("reshape", "flatten", lambda x: sg.reshape(x, (12,)), lambda a: a.reshape(12),
         (real(3, 4),)),
    Case("reshape", "minus-one", lambda x: sg.reshape(x, (4, -1)), lambda a: a.reshape(4, -1),
         (real(2, 3, 4),)),
    Case("reshape", "int-shape", lambda x: sg.reshape(x, 6), lambda a: a.reshape(6),
         (real(2, 3),)),
    Case("reshape", "0d-to-1x1", lambda x: sg.reshape(x, (1, 1)), lambda a: a.reshape(1, 1),
         (real(),)),
    Case("reshape", "1x1-to-0d", lambda x: sg.reshape(x, ()), lambda a: a.reshape(()),
         (real(1, 1),)),
    Case("reshape", "unknown-batch-dim", lambda x: sg.reshape(x, (-1, 2, 3)),
         lambda a: a.reshape(-1, 2, 3), (real(4, 6, declared=(None, 6)),)),
    Case("reshape", "like", lambda x, s: make_node(Reshape(), (x, s), {"shape": None}),
         lambda a, s: a.reshape(s.shape), (real(3, 4), like(2, 6, declared=(None, None)))),
    # squeeze and expand_dims
    Case("squeeze", "all", sg.squeeze, np.squeeze, (real(1, 3, 1),)),
    Case("squeeze", "axis0", lambda x: sg.squeeze(x, 0), lambda a: np.squeeze(a, 0),
         (real(1, 3, 1),)),
    Case("squeeze", "negative-axis", lambda x: sg.squeeze(x, -1), lambda a: np.squeeze(a, -1),
         (real(1, 3, 1),)),
    Case("squeeze", "to-0d", sg.squeeze, np.squeeze, (real(1, 1),)),
    Case("squeeze", "unknown-dim-fed-as-1-is-kept", sg.squeeze, lambda a: np.squeeze(a, 1),
         (real(1, 1, 3, declared=(None, 1, 3)),)),
    Case("expand_dims", "axis0", lambda x: sg.expand_dims(x, 0), lambda a: np.expand_dims(a, 0),
         (real(3, 4),)),
    Case("expand_dims", "axis1", lambda x: sg.expand_dims(x, 1), lambda a: np.expand_dims(a, 1),
         (real(3, 4),)),
    Case("expand_dims", "last", lambda x: sg.expand_dims(x, -1), lambda a: np.expand_dims(a, -1),
         (real(3, 4),)),
    Case("expand_dims", "0d", lambda x: sg.expand_dims(x, 0), lambda a: np.expand_dims(a, 0),
         (real(),)),
    # getitem: ints, slices, negative steps, None, ..., and split/unstack which build it
    Case("getitem", "int", lambda x: x[1], lambda a: a[1], (real(3, 4),)),
    Case("getitem", "negative-int", lambda x: x[-1], lambda a: a[-1], (real(3, 4),)),
    Case("getitem", "column", lambda x: x[:, 1], lambda a: a[:, 1], (real(3, 4),)),
    Case("getitem", "slice", lambda x: x[1:3], lambda a: a[1:3], (real(4, 2),)),
    Case("getitem", "reversed", lambda x: x[::-1], lambda a: a[::-1], (real(5,),)),
    Case("getitem", "mixed", lambda x: x[0, 1:, ::2], lambda a: a[0, 1:, ::2], (real(2, 3, 4),)),
    Case("getitem", "ellipsis", lambda x: x[..., 0], lambda a: a[..., 0], (real(2, 3, 4),)),
    Case("getitem", "new-axis", lambda x: x[None, 1], lambda a: a[None, 1], (real(3, 4),)),
    Case("getitem", "to-0d", lambda x: x[1, 2], lambda a: a[1, 2], (real(3, 4),)),
    Case("getitem", "unknown-batch-dim", lambda x: x[:, 1], lambda a: a[:, 1],
         (real(5, 3, declared=(None, 3)),)),
    Case("getitem", "split-equal", lambda x: sg.split(x, 2, axis=1)[1],
         lambda a: np.split(a, 2, axis=1)[1], (real(3, 4),)),
    Case("getitem", "split-sizes", lambda x: sg.split(x, [1, 3], axis=-1)[1],
         lambda a: a[:, 1:], (real(3, 4),)),
    Case("getitem", "unstack", lambda x: sg.unstack(x, axis=1)[2], lambda a: a[:, 2],
         (real(3, 4),)),
    Case("getitem_grad", "column", lambda g, s: make_node(GetItemGrad(), (g, s),
         index_attr((slice(None), 1))), np_getitem_grad((slice(None), 1)), (real(3,), like(3, 4))),
    Case("getitem_grad", "strided", lambda g, s: make_node(GetItemGrad(), (g, s),
         index_attr((0, slice(None, None, 2)))), np_getitem_grad((0, slice(None, None, 2))),
         (real(2,), like(2, 3))),
    Case("scatter_slices", "columns", lambda s, g0, g1: scatter_slices(
         s, [g0, g1], [_encode_index((slice(None), 0)), _encode_index((slice(None), 2))]),
         lambda s, g0, g1: np_scatter_slices(s, [g0, g1], [(slice(None), 0), (slice(None), 2)]),
         (like(3, 4), real(3,), real(3,))),
    Case("scatter_slices", "overlapping-rows-add-up", lambda s, g0, g1: scatter_slices(
         s, [g0, g1], [_encode_index((slice(0, 2),)), _encode_index((slice(1, 3),))]),
         lambda s, g0, g1: np_scatter_slices(s, [g0, g1], [(slice(0, 2),), (slice(1, 3),)]),
         (like(3, 2), real(2, 2), real(2, 2))),
    # concat and stack
    Case("concat", "axis0", lambda a, b: sg.concat([a, b]), lambda a, b: np.concatenate([a, b]),
         (real(2, 3), real(4, 3))),
    Case("concat", "three-on-last-axis", lambda a, b, c: sg.concat([a, b, c], axis=-1),
         lambda a, b, c: np.concatenate([a, b, c], axis=-1), (real(2, 3), real(2, 1), real(2, 2))),
    Case("concat", "1d", lambda a, b: sg.concat([a, b]), lambda a, b: np.concatenate([a, b]),
         (real(3,), real(1,))),
    # sizes along the axis not known when built: the gradient is cut at run time (concat_part)
    Case("concat", "unknown-sizes", lambda a, b: sg.concat([a, b]), lambda a, b: np.concatenate([a, b]),
         (real(2, 3, declared=(None, 3)), real(4, 3, declared=(None, 3)))),
    Case("concat_part", "second-of-two", lambda g, a, b: make_node(
         ConcatPart(), (g, a, b), {"index": 1, "axis": 0}), lambda g, a, b: g[a.shape[0]:],
         (real(6, 3), like(2, 3, declared=(None, 3)), like(4, 3, declared=(None, 3)))),
    Case("concat_part", "last-axis", lambda g, a, b: make_node(
         ConcatPart(), (g, a, b), {"index": 0, "axis": 1}), lambda g, a, b: g[:, : a.shape[1]],
         (real(2, 5), like(2, 2, declared=(2, None)), like(2, 3, declared=(2, None)))),
    Case("stop_gradient", "identity", lambda x: sg.stop_gradient(x), lambda x: x, (real(2, 3),),
         differentiable=False),
    Case("stack", "1d", lambda a, b: sg.stack([a, b]), lambda a, b: np.stack([a, b]),
         (real(3,), real(3,))),
    Case("stack", "last-axis", lambda a, b, c: sg.stack([a, b, c], axis=-1),
         lambda a, b, c: np.stack([a, b, c], axis=-1), (real(2, 3), real(2, 3), real(2, 3))),
    Case("stack", "0d", lambda a, b: sg.stack([a, b]), lambda a, b: np.stack([a, b]),
         (real(), real())),
    # broadcast_to and sum_to: the pair that gradients of broadcasting are made of
    Case("broadcast_to", "column", lambda x: sg.broadcast_to(x, (3, 4)),
         lambda a: np.broadcast_to(a, (3, 4)), (real(3, 1),)),
    Case("broadcast_to", "new-leading-dims", lambda x: sg.broadcast_to(x, (2, 3, 4)),
         lambda a: np.broadcast_to(a, (2, 3, 4)), (real(4,),)),
    Case("broadcast_to", "0d", lambda x: sg.broadcast_to(x, (2, 2)),
         lambda a: np.broadcast_to(a, (2, 2)), (real(),)),
    Case("broadcast_to", "like", lambda x, s: sg.broadcast_to(x, (None, 4), like=s),
         lambda a, s: np.broadcast_to(a, s.shape), (real(1, 4), like(3, 4, declared=(None, 4)))),
    Case("sum_to", "rows", lambda x: shape_ops.sum_to(x, (1, 4)),
         lambda a: a.sum(0, keepdims=True), (real(3, 4),)),
    Case("sum_to", "leading-and-ones", lambda x: shape_ops.sum_to(x, (3, 1)),
         lambda a: a.sum((0, 2))[:, None], (real(2, 3, 4),)),
    Case("sum_to", "0d", lambda x: shape_ops.sum_to(x, ()), np.sum, (real(3, 4),)),
    Case("sum_to", "same-shape", lambda x: shape_ops.sum_to(x, (3, 4)), lambda a: a,
         (real(3, 4),)),
    Case("sum_to", "unknown-batch-dim", lambda x: shape_ops.sum_to(x, (4,)),
         lambda a: a.sum(0), (real(3, 4, declared=(None, 4)),)),
    # constant-valued ops: no gradient
    Case("zeros_like", "same-dtype", sg.zeros_like, np.zeros_like, (real(3, 4),), False),
    Case("zeros_like", "int64", lambda x: sg.zeros_like(x, "int64"),
         lambda a: np.zeros_like(a, "int64"), (real(3, 4, declared=(None, 4)),), False),
    Case("zeros_like", "python-float", lambda: sg.zeros_like(2.0), lambda: np.zeros_like(2.0),
         (), False),
    Case("ones_like", "same-dtype", sg.ones_like, np.ones_like, (real(2,),), False),
    Case("ones_like", "0d-int64", lambda x: sg.ones_like(x, "int64"),
         lambda a: np.ones_like(a, "int64"), (real(),), False),
    Case("reduced_count", "all", lambda x: make_node(ReducedCount(), (x,), {"axis": None}),
         lambda a: np.asarray(a.size, a.dtype), (real(3, 4),), False),
    Case("reduced_count", "unknown-batch-dim",
         lambda x: make_node(ReducedCount(), (x,), {"axis": (0,)}),
         lambda a: np.asarray(a.shape[0], a.dtype), (real(5, 4, declared=(None, 4)),), False),
    # nn ops
    Case("softmax", "unknown-batch-dim", sg.softmax, np_softmax, (real(3, 4, declared=(None, 4)),)),
    Case("softmax_cross_entropy", "batch", sg.softmax_cross_entropy, np_cross_entropy,
         (real(4, 5), ids(4, high=5)), second_order=True),
    Case("softmax_cross_entropy", "3d", sg.softmax_cross_entropy, np_cross_entropy,
         (real(2, 3, 4), ids(2, 3, high=4)), second_order=True),
    Case("softmax_cross_entropy", "one-row", sg.softmax_cross_entropy, np_cross_entropy,
         (real(1, 3), ids(1, high=3))),
    Case("softmax_cross_entropy", "1d-logits-python-int-label",
         lambda z: sg.softmax_cross_entropy(z, 2), lambda z: np_cross_entropy(z, np.asarray(2)),
         (real(4,),), second_order=True),
    Case("softmax_cross_entropy", "unknown-batch-dim", sg.softmax_cross_entropy,
         np_cross_entropy, (real(4, 3, declared=(None, 3)), ids(4, high=3, declared=(None,)))),
    Case("softmax_cross_entropy_grad", "batch",
         lambda z, y: make_node(SoftmaxCrossEntropyGrad(), (z, y)), np_cross_entropy_grad,
         (real(4, 5), ids(4, high=5))),
    Case("softmax_cross_entropy_grad", "3d",
         lambda z, y: make_node(SoftmaxCrossEntropyGrad(), (z, y)), np_cross_entropy_grad,
         (real(2, 3, 4), ids(2, 3, high=4))),
    Case("embedding_lookup", "1d-ids", sg.embedding_lookup, lambda p, i: p[i],
         (real(5, 3), ids(4, high=5))),
    Case("embedding_lookup", "2d-ids", sg.embedding_lookup, lambda p, i: p[i],
         (real(5, 3), ids(2, 3, high=5))),
    Case("embedding_lookup", "0d-id", sg.embedding_lookup, lambda p, i: p[i],
         (real(5, 3), ids(high=5))),
    Case("embedding_lookup", "repeated-ids", sg.embedding_lookup, lambda p, i: p[i],
         (real(2, 3), ids(6, high=2))),
    Case("embedding_lookup", "python-int-id", lambda p: sg.embedding_lookup(p, 2),
         lambda p: p[2], (real(5, 3),)),
    Case("embedding_lookup", "unknown-batch-dim", sg.embedding_lookup, lambda p, i: p[i],
         (real(5, 3), ids(4, high=5, declared=(None,)))),
    Case("embedding_grad", "repeated-ids",
         lambda g, i, s: make_node(EmbeddingGrad(), (g, i, s)), np_embedding_grad,
         (real(6, 3), ids(6, high=3), like(4, 3))),
    Case("embedding_grad", "2d-ids",
         lambda g, i, s: make_node(EmbeddingGrad(), (g, i, s)), np_embedding_grad,
         (real(2, 3, 2), ids(2, 3, high=4), like(4, 2))),
    Case("one_hot", "1d", lambda y: sg.one_hot(y, 5), lambda y: np_one_hot(y, 5, "float32"),
         (ids(4, high=5),), False),
    Case("one_hot", "2d-float64", lambda y: sg.one_hot(y, 4, "float64"),
         lambda y: np_one_hot(y, 4, "float64"), (ids(2, 3, high=4),), False),
    Case("one_hot", "python-int-label", lambda: sg.one_hot(2, 3),
         lambda: np_one_hot(np.asarray(2), 3, "float32"), (), False),
    Case("one_hot", "int64", lambda y: sg.one_hot(y, 3, "int64"),
         lambda y: np_one_hot(y, 3, "int64"), (ids(3, high=3),), False),
    # update ops: running them answers None; the Variable they update shows the effect
    Case("assign", "vector", _assign_into((3,)), lambda a: a, (real(3,),), False,
         observe=lambda node: node.inputs[0]),
    Case("assign", "0d", _assign_into(()), lambda a: a, (real(),), False,
         observe=lambda node: node.inputs[0]),
    Case("group", "two-assigns", _group_of_two, lambda a, b: np.concatenate([a, b * 2]),
         (real(3,), real(2,)), False, observe=_variables_updated),
    # random numbers: the same seed gives the same numbers as NumPy's generator
    Case("random_uniform", "seeded", lambda x: random_uniform(x, seed=7),
         lambda a: np.random.default_rng(7).random(a.shape, dtype=a.dtype), (real(3, 4),), False),
    Case("random_uniform", "inactive", lambda x: random_uniform(x, seed=7, active=sg.Constant(np.array(False))),
         lambda a: np.zeros(a.shape, a.dtype), (real(3, 4),), False),
]

CASES: list[Case] = _template_cases() + HAND_CASES
DIFFERENTIABLE = [c for c in CASES if c.differentiable]
NOT_DIFFERENTIABLE = [c for c in CASES if not c.differentiable]
SECOND_ORDER = [c for c in CASES if c.second_order]
DECLARED_UNKNOWN = [
    c for c in CASES if any(i.declared is not None and None in i.declared for i in c.inputs)
]
