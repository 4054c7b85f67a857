"""The Op contract: everything symgraph knows about one operation, in one class.

An op is a stateless object with three methods side by side:

    infer(*inputs, **attrs)       -> (shape, dtype)   run when the Node is built
    forward(*arrays, **attrs)     -> ndarray          the NumPy kernel, of infer's shape and
                                                       dtype (checked on a Program's first run)
    backward(node, grad)          -> one Node (or None) per input: the gradient, as a graph

`attrs` are the op's settings (an axis, a shape): hashable values kept on the
Node, so the compiler can tell two identical Nodes apart from two different
ones. Two optional facts have defaults, so an op that defines only the three
methods is complete:

    elementwise = False   True when output[i] depends only on inputs[i]: fusion may merge it
    flops(node)           an estimate of the work, for the compiler's statistics
    workspace(*inputs)    the (shape, dtype) of a work array the kernel needs, or None

A kernel whose class sets `writes_out = True` also accepts `out=`, a buffer of
the output's shape and dtype (the memory planner hands one over to avoid
allocating); given one, it must write its result there and return it (checked
on a Program's first run), since what the plan reads next is that buffer. `fresh_output = True` promises the kernel always returns
new memory, never a view of an input; without that promise the planner
assumes a result may be a view (as reshape's is) and keeps its inputs' buffers alive,
and a fused kernel copies the result before later steps write into it.
`returns_view = True` says more: the result is (usually) a view of the first
input, so it costs no memory of its own and no time worth scheduling around
(reshape, transpose, basic indexing). Defining a subclass registers it by
`name`, which must be its own (the passes know ops by name), and the test table in
tests/ops/ checks that every registered op is tested.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from symgraph.errors import GradientError, RunError, ShapeError, shape_str

#: every Op subclass with a name, by name (see Op.__init_subclass__)
REGISTRY: dict[str, type[Op]] = {}


class Op:
    """Base class of every op. Subclasses set `name` and define infer, forward, backward."""

    name: str = ""
    elementwise: bool = False
    differentiable: bool = True  # False: gradients stop here (argmax, comparisons, ...)
    writes_out: bool = False  # True: forward accepts out=, must write its result there and return it
    fresh_output: bool = False  # True: forward never returns a view of an input (memory planning)
    returns_view: bool = False  # True: forward's result is (usually) a view of its first input
    stateful: bool = False  # True: each run may differ (random numbers): never folded or merged
    is_update: bool = False  # True: computes a Variable's next value (assign, group)
    takes_updates: bool = False  # True: its inputs may be update Nodes (group, and only it)
    registered: bool = True  # False: kept out of REGISTRY (the leaves; their values come from outside)
    # inputs whose memory the kernel may be given as out= (when nothing reads them after):
    # it reads each of their elements before it writes that element of its result
    writes_over: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            # CamelCase class name -> snake_case op name: SoftmaxCrossEntropy -> softmax_cross_entropy
            cls.name = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
        if not isinstance(cls.name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", cls.name):
            # op names appear in listings, generated source and error messages
            raise TypeError(
                f"op name {cls.name!r} of {cls.__qualname__} must be letters, digits and "
                "underscores, not starting with a digit, e.g. name = 'my_op'"
            )
        # `abstract` marks a shared base class (Elementwise, Reduction); it is read from the
        # class itself, not inherited, so every concrete subclass (Add, Sum) is registered.
        if cls.registered and not cls.__dict__.get("abstract", False):
            taken = REGISTRY.get(cls.name)
            # The passes know ops by name (stabilize rewrites "sigmoid"): a second op of a
            # name would be rewritten with the first one's meaning. The same class defined
            # again (a notebook cell run twice) is no clash.
            if taken is not None and (taken.__module__, taken.__qualname__) != (
                cls.__module__,
                cls.__qualname__,
            ):
                raise TypeError(
                    f"op name {cls.name!r} is taken by {taken.__module__}.{taken.__qualname__}; "
                    f"give {cls.__qualname__} a name of its own, e.g. name = 'my_{cls.name}'"
                )
            REGISTRY[cls.name] = cls

    def infer(self, *inputs, **attrs):
        raise NotImplementedError(f"op {self.name} has no shape rule (infer)")

    def forward(self, *arrays, **attrs):
        raise NotImplementedError(f"op {self.name} has no kernel (forward)")

    def backward(self, node, grad):
        raise GradientError(
            f"op {self.name} has no gradient",
            node=node,
            hint="stop the gradient before this op, or give the op a backward method",
        )

    def workspace(self, *inputs, **attrs):
        """(shape, dtype) of a work array the kernel needs besides its result, or None.

        A kernel that needs a big temporary that is not its result (the exponentials
        inside a cross-entropy) says so here, given its inputs' types as `infer` gets
        them, all shapes known. The memory planner then gives the instruction a region
        of the arena for it, free again as soon as the instruction ends, and passes it
        to the kernel as `scratch=`, an array of that shape and dtype. Without a plan
        the kernel makes its own.
        """
        return None

    def new_state(self, **attrs):
        """What a `stateful` op keeps from one run to the next (a random stream), made
        once per Node by each Session (Program.bind_state); None, the default, for an
        op that keeps nothing. An op that returns something here takes it as its
        kernel's `state=`."""
        return None

    def save_state(self, state):
        """A copy of `state` (from new_state) to put back if a run fails; see restore_state."""
        return None

    def restore_state(self, state, saved) -> None:
        """Put `state` back as save_state found it: a failed run changes nothing."""

    def kernel(self, **attrs):
        """The callable a Program calls: `forward` with the attrs bound once.

        An op whose forward only calls one NumPy function may return that function
        itself (Elementwise returns its ufunc), which saves a Python call per run.
        """
        return functools.partial(self.forward, **attrs) if attrs else self.forward

    @classmethod
    def sum_gradients(cls, parts):
        """The sum of several Nodes of this op that are gradients of one input, or None.

        autodiff adds a value's gradient contributions one by one. An op whose
        Nodes can be summed more cheaply as one Node (slice gradients, embedding
        gradients: each is mostly zeros) says how here; None means "just add them".
        """
        return None

    def flops(self, node) -> int:
        """Default estimate: one operation per output element (None dims count as 1)."""
        return num_elements(node.shape)

    def __eq__(self, other):
        # Ops are stateless: two instances of one class are the same op. An op object
        # given settings of its own (Scale(2.0), Scale(3.0)) is equal only to itself:
        # settings belong in attrs, which the compiler compares, but this is allowed.
        if self is other:
            return True
        return type(self) is type(other) and not has_settings(self) and not has_settings(other)

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        return f"<op {self.name}>"


class LeafOp(Op):
    """The op of a Placeholder, Variable or Constant: no inputs, its value comes from outside."""

    abstract = True
    registered = False
    differentiable = True

    def backward(self, node, grad):
        return ()

    def flops(self, node) -> int:
        return 0


def check_wrote_into_out(op, result, out, node=None, where="") -> None:
    """Raise a RunError unless a kernel given `out=` answered with it (or a view of it).

    A writes_out kernel that returns a new array instead leaves `out` unwritten, and
    the memory plan reads `out` next: a concat whose parts were computed in place,
    or the next step of a fused kernel, would see uninitialized memory."""
    if result is out or isinstance(result, np.ndarray) and np.may_share_memory(result, out):
        return
    raise RunError(
        f"the kernel of {op.name}{where} was given out= but returned "
        f"{'another array' if isinstance(result, np.ndarray) else type(result).__name__}: "
        "a writes_out op must write its result into out= and return it",
        node=node,
        hint=f"in {type(op).__name__}.forward, write into out (np.copyto(out, result), or a "
        "NumPy function's out=out) and return out, or drop writes_out = True; "
        "no variable was changed",
    )


# -- attrs -----------------------------------------------------------------------
def has_settings(op: Op) -> bool:
    """True for an op object given attributes of its own (`Scale(2.0)` keeping its 2.0):
    then it is not interchangeable with another of its class (see Op.__eq__)."""
    return bool(getattr(op, "__dict__", None))


#: keyword arguments a Program passes to kernels itself (the memory plan's buffer and
#: work array, a stateful op's state): an attr of one of these names would be replaced
RESERVED_ATTRS = ("out", "scratch", "state")


def check_attrs(op: Op, attrs: dict) -> dict:
    """Attrs must be hashable, so passes can compare Nodes (CSE) by (op, attrs, inputs),
    and must not take a name the Program passes to kernels itself (RESERVED_ATTRS)."""
    for key, value in attrs.items():
        if key in RESERVED_ATTRS:
            raise TypeError(
                f"attr {key!r} of op {op.name} has a name symgraph keeps for itself: a Program "
                "passes out=, scratch= and state= to kernels (the result's buffer, a work "
                "array, a stateful op's state), which would replace the attr's value; "
                f"give it another name, e.g. {key + '_value'!r}"
            )
        try:
            hash(value)
        except TypeError:
            raise TypeError(
                f"attr {key}={value!r} of op {op.name} is not hashable; "
                "use tuples instead of lists"
            ) from None
    return attrs


# -- shape helpers used by many ops ---------------------------------------------------
def is_known(shape) -> bool:
    """True when every dim is known (none is None): the compiler plans only such shapes."""
    return all(d is not None for d in shape)


def shapes_agree(a, b) -> bool:
    """Two static shapes that can be the same when the graph runs: the same rank, and
    equal dims wherever both are known (None, a size known only when fed, fits any)."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def num_elements(shape) -> int:
    n = 1
    for d in shape:
        n *= 1 if d is None else d
    return n


def broadcast_shapes(*nodes) -> tuple:
    """NumPy's broadcasting rule on static shapes, where None means 'known when fed'.

    A None dim is assumed not to be 1 (it is never broadcast), the same
    assumption PyTensor makes, so (None, 3) with (1, 3) gives (None, 3).
    """
    ndim = max(len(n.shape) for n in nodes)
    result = []
    for axis in range(ndim):
        dim = 1
        for n in nodes:
            offset = axis - (ndim - len(n.shape))
            if offset < 0:
                continue
            d = n.shape[offset]
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d is None or dim is None:
                dim = dim if d is None else d
            elif d != dim:
                raise ShapeError(
                    "cannot broadcast "
                    + " and ".join(f"{n.name} {shape_str(n.shape)}" for n in nodes)
                    + f": dims {dim} and {d} differ",
                    hint="make the shapes equal, or make one of the dims 1 (NumPy broadcasting)",
                )
        result.append(dim)
    return tuple(result)


def operand(node):
    """What NumPy should see for this input when working out a dtype.

    A weak Constant (a Python number) is given as its Python type, so NumPy 2
    promotes it the way the kernel will: float32 * 2.0 stays float32. NumPy takes only
    int, float and complex that way; a Python bool is given as the bool dtype, the
    lowest of all, which promotes the same way (float32 + True stays float32).
    """
    if node.weak:
        kind = type(node.value)
        return np.dtype(bool) if kind is bool else kind
    return node.dtype


def ufunc_dtype(ufunc, *nodes) -> np.dtype:
    """The dtype `ufunc` gives for these inputs, asked of NumPy itself, so the
    build-time rule can never disagree with the kernel."""
    try:
        dtypes = ufunc.resolve_dtypes(tuple(operand(n) for n in nodes) + (None,))
    except TypeError:  # NumPy has no loop for these dtypes
        raise ShapeError(
            f"{ufunc.__name__} is not defined for "
            + " and ".join(f"{n.name} ({n.dtype})" for n in nodes),
            hint="cast the inputs to a common numeric dtype with sg.cast",
        ) from None
    if ufunc not in _COMPARISONS:  # NumPy 2 compares int8 with 1000 exactly; it adds no such
        check_numbers_fit(nodes, dtypes[: len(nodes)])
    return np.dtype(dtypes[-1])


_COMPARISONS = (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal)


def result_dtype(*nodes) -> np.dtype:
    """NumPy's promotion of the inputs' dtypes (weak Python numbers included)."""
    dtype = np.result_type(*(n.value if n.weak else n.dtype for n in nodes))
    check_numbers_fit(nodes, [dtype] * len(nodes))
    return dtype


def check_numbers_fit(nodes, dtypes) -> None:
    """A Python int meeting an integer tensor becomes that tensor's dtype, as in NumPy 2,
    which raises OverflowError, at run time, for one that does not fit (int64 + 2**70,
    uint8 + 300): say it when the Node is built."""
    for n, dtype in zip(nodes, dtypes):
        if not (n.weak and type(n.value) is int and dtype.kind in "iu"):
            continue
        info = np.iinfo(dtype)
        if info.min <= n.value <= info.max:
            continue
        others = [m for m in nodes if not m.weak]
        headline = f"the number {n.value} does not fit {dtype}"
        hint = f"use a number from {info.min} to {info.max}"
        if others:
            headline += ", the dtype of " + " and ".join(f"{m.name} {shape_str(m.shape)}" for m in others)
            wider = "int64" if -(2**63) <= n.value < 2**63 else "float64"
            hint += f", or cast {others[0].name} to a wider dtype first: sg.cast({others[0].name}, '{wider}')"
        raise ShapeError(headline, hint=hint)


def normalize_axis(axis, ndim: int, what: str = "axis", of=None):
    """None, or a sorted tuple of non-negative axes; raises ShapeError when out of range.

    `of` is the Node the axis is for, named (with its shape) in the error.
    """
    if axis is None:
        return None
    tensor = f"{of.name} {shape_str(of.shape)}" if of is not None else "a tensor"
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise ShapeError(
            f"{what} {axis!r} of {tensor} is not an int or a tuple of ints",
            hint=f"give {what} as an int, such as 0 or -1, or a tuple of them",
        )
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ShapeError(
                f"{what} {axis!r} is out of range for {tensor} of rank {ndim}",
                hint=f"use an axis between {-ndim} and {ndim - 1}"
                if ndim
                else f"a rank-0 tensor (one number) has no axes: leave {what} out (None)",
            )
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ShapeError(
            f"{what} {axis!r} of {tensor} repeats an axis",
            hint=f"name each axis once, e.g. {what}={tuple(sorted(set(out)))}",
        )
    return tuple(sorted(out))


def normalize_one_axis(axis, ndim: int, of=None) -> int:
    """For ops that take a single axis (softmax, concat, ...): a tuple is an error, not its first."""
    if not isinstance(axis, (int, np.integer)):
        tensor = f" of {of.name} {shape_str(of.shape)}" if of is not None else ""
        raise ShapeError(
            f"axis must be one int, got {axis!r}{tensor}",
            hint="this op works along one axis: give one int, such as -1",
        )
    return normalize_axis(axis, ndim, of=of)[0]


def known_dtype(dtype, what: str) -> np.dtype:
    """np.dtype(dtype), or a ShapeError saying `what` names a dtype NumPy does not know
    ('floot': NumPy's own 'data type not understood' names neither the Node nor a fix),
    or one no kernel computes with (strings, objects)."""
    try:
        known = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ShapeError(
            f"{what} {dtype!r}, which NumPy does not know",
            hint="use a NumPy dtype name such as 'float32', 'float64', 'int64' or 'bool'",
        ) from None
    if known.kind not in "biufc":  # strings, objects, dates: no kernel computes with them
        raise ShapeError(
            f"{what} {dtype!r}: symgraph computes with numbers and bools only",
            hint="use a NumPy dtype name such as 'float32', 'float64', 'int64' or 'bool'",
        )
    return known


def is_float(dtype) -> bool:
    return np.issubdtype(dtype, np.floating)
