"""Graph, Node and the three leaves: Placeholder, Variable, Constant.

A Graph is an append-only list of Nodes in creation order. Because a Node's
inputs must exist before the Node does, creation order is already a
topological order: autodiff and the compiler lean on that fact.

A Node is a symbolic tensor: it records which op made it, from which inputs,
with which attributes, its inferred shape and dtype, and the line of the
user's code that created it (so every error can point there).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading

import numpy as np

from symgraph.errors import GraphError, ShapeError, shape_str
from symgraph.feeds import converted_to
from symgraph.ops.base import LeafOp, Op, check_attrs, has_settings, known_dtype, shapes_agree

FORWARD, GRADIENT, UPDATE = "forward", "gradient", "update"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frame():
    """The innermost stack frame outside symgraph's own files: the user's line."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:  # only symgraph frames: report the outermost one
        return "<symgraph>", 0
    return frame.f_code.co_filename, frame.f_lineno


def user_stacklevel() -> int:
    """warnings.warn's stacklevel for a warning about the user's line: the number of
    frames from the caller of this function out to the first outside symgraph."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


@contextlib.contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while building many objects at once.

    The collector walks every tracked object each time enough new ones have
    appeared. Autodiff and the compiler create tens of thousands of objects
    and free almost none until they finish, so each such walk is wasted, and
    together they make the work grow faster than the graph does. Reference
    counting still frees everything as usual; only the cycle search waits.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Graph:
    """Owns Nodes in creation order, keeps their names unique, and tracks name scopes."""

    def __init__(self):
        self._nodes: list[Node] = []
        self._names: dict[str, Node] = {}
        self._next_suffix: dict[str, int] = {}  # base name -> next _N suffix to try
        self._scope = ""  # current name scope, "" or "a/b"
        self._origin = FORWARD  # origin given to Nodes built now
        self._grad_of = None  # the forward Node whose gradient is being built
        self._variables: list[Variable] = []
        self._next_id = 0
        self.collections: dict[str, object] = {}  # graph-wide singletons, e.g. the training flag

    # -- reading ---------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """All Nodes, in creation order (a topological order)."""
        return list(self._nodes)

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    def trainable_variables(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable]

    def get_node(self, name: str) -> Node:
        try:
            return self._names[name]
        except KeyError:
            raise GraphError(
                f"no node named '{name}' in this graph",
                hint="names include their scope, e.g. 'dense1/matmul'; see graph.summary()",
            ) from None

    def __len__(self):
        return len(self._nodes)

    def __iter__(self):
        """The Nodes in creation order (a copy: building more while iterating is safe)."""
        return iter(list(self._nodes))

    def __contains__(self, node):
        return isinstance(node, Node) and node.graph is self

    def summary(self) -> str:
        """A table of how many nodes of each op live in each scope."""
        counts: dict[tuple[str, str, str], int] = {}
        for node in self._nodes:
            scope = node.name.rpartition("/")[0] or "(top)"
            key = (scope, node.op.name, node.origin)
            counts[key] = counts.get(key, 0) + 1
        rows = [("scope", "op", "origin", "count")]
        rows += [(s, o, g, str(c)) for (s, o, g), c in counts.items()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"{len(self._nodes)} nodes, {len(self._variables)} variables")
        return "\n".join(lines)

    # -- naming ----------------------------------------------------------------
    def unique_name(self, base: str) -> str:
        """`base` if it is free, else `base_1`, `base_2`, ... as in TF1."""
        if base not in self._names and base not in self._next_suffix:
            self._next_suffix[base] = 1
            return base
        i = self._next_suffix.get(base, 1)
        while f"{base}_{i}" in self._names or f"{base}_{i}" in self._next_suffix:
            i += 1
        self._next_suffix[base] = i + 1
        name = f"{base}_{i}"
        self._next_suffix[name] = 1
        return name

    def _full_name(self, name: str) -> str:
        return self.unique_name(self._scoped(name))

    def _scoped(self, name: str) -> str:
        return f"{self._scope}/{name}" if self._scope else name

    @contextlib.contextmanager
    def name_scope(self, name: str):
        """Open a scope; Nodes built inside are named 'scope/op'. Nested scopes join with '/'.

        A scope name already used gets a suffix (`dense`, then `dense_1`), as in
        TF1. A name ending in '/' re-enters that exact scope instead, which is
        how a layer called twice keeps its Nodes in one scope. The scope is given
        as such a name: `with name_scope("dense") as scope:` gives 'dense/'.
        """
        if not isinstance(name, str) or not name.strip("/"):
            raise GraphError(f"name_scope needs a non-empty name, got {name!r}")
        if name.endswith("/"):
            path = name.rstrip("/")
        else:
            path = self._full_name(name)
        with self._scope_exactly(path):
            # as TF1 gives it, 'dense/': `with name_scope(that):` enters this scope again
            yield path + "/"

    def _in_scope(self, path: str):
        saved, self._scope = self._scope, path
        try:
            yield path
        finally:
            self._scope = saved

    @contextlib.contextmanager
    def _scope_exactly(self, path: str):
        """Enter `path` as it is; used by autodiff for its 'gradients/...' scopes."""
        yield from self._in_scope(path)

    @contextlib.contextmanager
    def _building(self, origin: str, grad_of=None):
        """Tag every Node built inside with `origin` (and the Node it differentiates)."""
        saved = self._origin, self._grad_of
        self._origin, self._grad_of = origin, grad_of
        try:
            yield
        finally:
            self._origin, self._grad_of = saved

    # -- default graph ---------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self):
        """Make this Graph the one new Nodes go to, inside the `with` block."""
        stack = _default.stack
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def _add(self, node: Node) -> None:
        self._nodes.append(node)
        self._names[node.name] = node

    def _drop_unused_since(self, start: int, keep: list) -> None:
        """Forget the Nodes built since index `start` that no Node in `keep` needs.

        autodiff calls this: a backward rule builds a gradient for every input,
        and the ones nobody asked for would only clutter listings and pictures.
        Only the tail of the list is looked at, so this costs what was built.
        """
        first_id = self._nodes[start].id if start < len(self._nodes) else self._next_id
        needed, stack = set(), [n for n in keep if n.id >= first_id]
        while stack:
            node = stack.pop()
            if node in needed:
                continue
            needed.add(node)
            stack.extend(i for i in node.inputs if i.id >= first_id)
        tail = self._nodes[start:]
        del self._nodes[start:]
        for node in tail:
            if node in needed or isinstance(node, Variable):  # a Variable stays: the graph lists it
                self._nodes.append(node)
            else:
                del self._names[node.name]

    def __repr__(self):
        return f"<Graph: {len(self._nodes)} nodes, {len(self._variables)} variables>"


class _DefaultGraphs(threading.local):
    def __init__(self):
        self.stack: list[Graph] = []
        self.root = Graph()


_default = _DefaultGraphs()


def get_default_graph() -> Graph:
    """The Graph that new Nodes join: the innermost `as_default()`, else the global one."""
    return _default.stack[-1] if _default.stack else _default.root


def reset_default_graph() -> Graph:
    """Start a fresh global default Graph (Nodes of the old one stay valid in it)."""
    if _default.stack:
        raise GraphError(
            "reset_default_graph() called inside a `with graph.as_default():` block",
            hint="leave the block first",
        )
    _default.root = Graph()
    return _default.root


def name_scope(name: str):
    """`with sg.name_scope("dense1"):` on the default graph."""
    return get_default_graph().name_scope(name)


class Node:
    """A symbolic tensor: the result of `op` applied to `inputs` with `attrs`.

    Python operators (`+ - * / ** @`, unary `-`, comparisons, indexing, `.T`)
    build new Nodes; they are attached to this class in `symgraph/ops/operators.py`,
    next to the op functions they call.
    """

    # Make NumPy hand `array + node` back to Node.__radd__ instead of
    # trying to treat the Node as an array element.
    __array_ufunc__ = None

    #: True only for a Constant made from a Python number (see Constant)
    weak = False

    def __init__(self, op: Op, inputs, attrs, shape, dtype, name, graph: Graph):
        self.op = _shared(op)
        self.inputs: tuple[Node, ...] = tuple(inputs)
        self.attrs: dict = attrs
        self.shape: tuple = tuple(shape)
        self.dtype: np.dtype = np.dtype(dtype)
        self.graph = graph
        self.name = graph._full_name(name or op.name)
        self.id = graph._next_id  # creation index: a topological order
        graph._next_id += 1
        self.origin = graph._origin
        self.grad_of = graph._grad_of
        self.file, self.line = _user_frame()
        graph._add(self)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def location(self) -> str:
        """'file.py:LINE' of the user's code that created this Node."""
        return f"{os.path.basename(self.file)}:{self.line}"

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.op, LeafOp)

    def __repr__(self):
        return (
            f"<Node '{self.name}' op={self.op.name} shape={shape_str(self.shape)} "
            f"dtype={self.dtype.name}>"
        )

    def __bool__(self):
        raise TypeError(
            f"the truth value of Node '{self.name}' is not known until the graph runs; "
            "use sg.where(cond, a, b) inside the graph, or fetch the value with Session.run"
        )

    def __iter__(self):
        raise TypeError(
            f"Node '{self.name}' cannot be iterated while building the graph; "
            "use sg.unstack(node, axis) to get one Node per slice"
        )

    # A Node is a dict key and a set member by identity, so `==` is not overloaded
    # (use sg.equal(a, b) for an elementwise comparison Node).
    __hash__ = object.__hash__


#: the one instance of each op class that all its Nodes share (see _shared)
_OPS: dict[type, Op] = {}


def _shared(op: Op) -> Op:
    """The instance of `op`'s class that every Node of that op shares.

    An op is stateless (a Node's settings are its attrs), so one Add serves every
    add Node, as Op.__eq__ says. Then 25,000 Nodes hold a dozen op objects, not
    25,000: less memory, less for the garbage collector to walk, and the compiler,
    which asks every vertex for its op's name in each pass, finds them in the CPU's
    cache. An op object that was given attributes of its own keeps them, and itself.
    """
    if has_settings(op):
        return op
    return _OPS.setdefault(type(op), op)


def make_node(op: Op, inputs, attrs=None, name=None) -> Node:
    """Build one op Node: convert inputs, run the op's shape rule, and record it.

    A shape rule that fails raises a ShapeError that already names the node
    about to be built and the user's line.
    """
    graph = None
    for x in inputs:
        if isinstance(x, Node):
            graph = x.graph
            break
    graph = graph or get_default_graph()
    nodes = [as_node(x, graph) for x in inputs]
    for x in nodes:
        if x.graph is not graph:
            raise GraphError(
                f"{op.name} mixes Nodes of two Graphs: '{nodes[0].name}' and '{x.name}'",
                node=x,
                hint="build every Node of one model inside the same `with graph.as_default():`",
            )
        if x.op.is_update and not op.takes_updates:
            # an update's value is not the Variable's new value: it has none (fetched, None)
            raise GraphError(
                f"{op.name} cannot take '{x.name}' as an input: it is an update Node "
                f"({x.op.name}), which changes Variables when run and has no value to compute with",
                node=_pending_node(graph, op, name),
                hint="fetch it beside the values you want, sess.run([loss, train]); to compute "
                "with a Variable's new value, use the value given to sg.assign, or read the "
                "Variable in the next run",
            )
    attrs = check_attrs(op, dict(attrs or {}))  # the Node's own: the caller may reuse theirs
    with checks_for(op, nodes, name):
        rule = op.infer(*nodes, **attrs)
    if not (isinstance(rule, tuple) and len(rule) == 2 and isinstance(rule[0], (tuple, list))):
        raise TypeError(
            f"{type(op).__name__}.infer returned {rule!r}; it must return (shape, dtype), "
            "the shape a tuple, e.g. return x.shape, x.dtype"
        )
    shape, dtype = rule
    shape = tuple(shape)
    if any(d is not None and (type(d) is not int or d < 0) for d in shape):
        shape = _checked_dims(op, shape)
    return Node(op, nodes, attrs, shape, dtype, name, graph)


def _checked_dims(op: Op, shape: tuple) -> tuple:
    """The shape an op's infer gave, with NumPy ints made ints; a float dim (x.shape[1] / 2)
    or a negative one is the op author's mistake, said here rather than deep in a run."""
    dims = []
    for d in shape:
        if isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            dims.append(int(d))
        elif d is None:
            dims.append(None)
        else:
            raise TypeError(
                f"{type(op).__name__}.infer returned the shape {shape_str(shape)}: each dim must be an int "
                f">= 0, or None when not known until the run, got {d!r}"
                + ("; divide with // to keep ints" if isinstance(d, float) else "")
            )
    return tuple(dims)


def checks_for(op: Op, inputs=(), name=None, graph=None) -> _ChecksFor:
    """Name the Node about to be built in any ShapeError raised inside the block.

    make_node wraps the shape rule in it; a public op function wraps the checks it
    makes before make_node (an axis out of range, an index NumPy would not take):

        with checks_for(Sum(), (x,), name):
            axis = normalize_axis(axis, x.ndim, of=x)

    Either way the error names the would-be Node, its op and the user's line. A function
    built from several ops (sg.split, sg.mse) gives its own name instead of an op, so the
    error names the function the user called, not one of the ops it builds:

        with checks_for("split", (x,)):
    """
    return _ChecksFor(_Called(op) if isinstance(op, str) else op, inputs, name, graph)


class _ChecksFor:
    # A class, not @contextlib.contextmanager: the user's line is found by walking out of
    # symgraph's own frames, and contextlib's frame would be taken for the user's.
    def __init__(self, op, inputs, name, graph):
        self.op, self.inputs, self.name, self.graph = op, inputs, name, graph

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if not isinstance(error, ShapeError) or error.node is not None:
            return False
        graph = self.graph or next((x.graph for x in self.inputs if isinstance(x, Node)), None)
        pending = _pending_node(graph or get_default_graph(), self.op, self.name)
        raise type(error)(error.headline, node=pending, hint=error.hint) from None


class _Called:
    """The 'op' of a function built from several ops, as an error names it: sg.split, sg.mse."""

    def __init__(self, name):
        self.name = name


def _pending_node(graph, op, name) -> _PendingNode:
    """The Node `op` was about to build, named as it would have been, at the user's line."""
    return _PendingNode(graph._scoped(name or op.name), op, *_user_frame())


class _PendingNode:
    """Stands in for a Node whose shape rule failed, so the error can still name it."""

    def __init__(self, name, op, file, line):
        self.name, self.op, self.file, self.line = name, op, file, line
        self.location = f"{os.path.basename(file)}:{line}"


def as_node(value, graph: Graph | None = None) -> Node:
    """A Node as it is; anything else (a Python number, a list, an array) as a Constant."""
    if isinstance(value, Node):
        return value
    graph = graph or get_default_graph()
    with graph.as_default():
        return Constant(value)


# -- leaves --------------------------------------------------------------------
class PlaceholderOp(LeafOp):
    name = "placeholder"


class VariableOp(LeafOp):
    name = "variable"


class ConstantOp(LeafOp):
    name = "constant"


def _check_shape(shape, what):
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ShapeError(
            f"{what} shape must be a tuple of ints or None, got {shape!r}",
            hint="give the shape as a tuple, e.g. (None, 784)",
        ) from None
    for d in shape:
        if d is not None and (not isinstance(d, (int, np.integer)) or d < 0):
            if isinstance(d, (int, np.integer)):  # -1, as in TF1's reshape
                known = tuple(None if isinstance(d, (int, np.integer)) and d < 0 else d for d in shape)
                hint = f"use None for a dim not known until the run: {shape_str(known)}"
            else:
                hint = "give each dim as an int, or None for a dim not known until the run"
            raise ShapeError(f"{what} shape must be a tuple of ints or None, got {shape!r}", hint=hint)
    return tuple(None if d is None else int(d) for d in shape)


def _is_numeric(array: np.ndarray) -> bool:
    """Bools, ints, floats and complex; not strings or objects, which no kernel can use."""
    return array.dtype.kind in "biufc"


def _numeric_array(value, what: str) -> np.ndarray:
    """np.array(value), a new array of numbers; a ShapeError for rows of different lengths
    (NumPy's 'inhomogeneous shape') or values that are not numbers."""
    try:
        array = np.array(value)
    except ValueError:
        raise ShapeError(
            f"{what} is not a rectangular array (its rows differ in length): {value!r}",
            hint="give every row the same length, e.g. [[1, 2], [3, 4]], or pass a NumPy array",
        ) from None
    if not _is_numeric(array):
        raise ShapeError(
            f"{what} is not numeric: {value!r}",
            hint="give numbers: a NumPy array, a list of numbers, or a number",
        )
    return array


class Placeholder(Node):
    """An input fed at run time: `sg.Placeholder((None, 784), name="x")`.

    With `default=`, feeding it is optional: a run that does not feed it uses
    the default (TF1's placeholder_with_default), e.g. a `training` flag.

    A dim of None takes any size when fed; it is never broadcast, so declare a
    dim 1 if you mean to broadcast it.
    """

    def __init__(self, shape, dtype="float32", name=None, default=None, graph: Graph | None = None):
        graph = graph or get_default_graph()
        with checks_for(PlaceholderOp(), (), name, graph):  # errors name the Placeholder and line
            shape = _check_shape(shape, "Placeholder")
            dtype = known_dtype(dtype, f"Placeholder {name} has dtype" if name else "a Placeholder has dtype")
            self.default = None
            if default is not None:  # used when the Placeholder is not fed (TF1's placeholder_with_default)
                given = np.asarray(default)
                # the rule a fed value follows (feeds.py): a cast within its kind, so a
                # default of 1.7 is not silently an int 1
                if given.dtype.kind not in "biuf" or not np.can_cast(given.dtype, dtype, "same_kind"):
                    raise ShapeError(
                        f"Placeholder default {default!r} ({given.dtype}) does not fit its dtype "
                        f"{dtype}",
                        hint=f"give a default of dtype {dtype}, e.g. np.array(value, dtype='{dtype}')",
                    )
                converted, problem = converted_to(given, dtype)  # a copy of its own
                if problem is not None:
                    headline, hint = problem
                    raise ShapeError(f"Placeholder default for dtype {dtype}: the {headline}", hint=hint)
                self.default = converted
                if not shapes_agree(shape, self.default.shape):
                    raise ShapeError(
                        f"Placeholder default of shape {shape_str(self.default.shape)} does not fit "
                        f"shape {shape_str(shape)}",
                        hint=f"give a default of shape {shape_str(shape)}",
                    )
                self.default.flags.writeable = False
        super().__init__(PlaceholderOp(), (), {}, shape, dtype, name, graph)


class Variable(Node):
    """State held by a Session across runs, initialised from `initial_value` (its dtype kept)."""

    def __init__(self, initial_value, name=None, trainable=True, graph: Graph | None = None):
        graph = graph or get_default_graph()
        if isinstance(initial_value, Node):
            raise GraphError(
                "Variable(initial_value) needs a value (an array or a number), got a Node",
                hint="use sg.nn.init.* or a NumPy array for the initial value",
            )
        with checks_for(VariableOp(), (), name or "Variable", graph):  # errors name it and the line
            value = _numeric_array(initial_value, "Variable initial value")  # a private copy
        value.flags.writeable = False
        self.initial_value = value
        self.trainable = bool(trainable)
        super().__init__(VariableOp(), (), {}, value.shape, value.dtype, name or "Variable", graph)
        graph._variables.append(self)


class Constant(Node):
    """A fixed value baked into the graph.

    A Python number stays 'weak' (`self.weak`), as NumPy 2 treats it: a float32
    `x * 2.0` stays float32 rather than becoming float64.
    """

    def __init__(self, value, name=None, graph: Graph | None = None):
        graph = graph or get_default_graph()
        self.weak = isinstance(value, (bool, int, float)) and not isinstance(value, np.generic)
        if self.weak:
            array = np.asarray(value)
            self.value = value  # kept as the Python number so kernels promote weakly
        else:
            with checks_for(ConstantOp(), (), name or "Const", graph):
                array = _numeric_array(value, "Constant value")
            array.flags.writeable = False
            self.value = array
        super().__init__(ConstantOp(), (), {}, array.shape, array.dtype, name or "Const", graph)


__all__ = [
    "Graph",
    "Node",
    "Placeholder",
    "Variable",
    "Constant",
    "get_default_graph",
    "reset_default_graph",
    "name_scope",
    "make_node",
    "checks_for",
    "as_node",
    "FORWARD",
    "GRADIENT",
    "UPDATE",
    "paused_gc",
]
