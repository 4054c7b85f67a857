"""Session: holds the Variables' values and runs compiled Programs.

    with sg.Session() as sess:
        loss_value, _ = sess.run([loss, train], feed_dict={x: xb, y: yb})

A run is a transaction. Every op in it reads the Variables as they were when
the run started; the updates it computed are stored only after the whole run
succeeded, so a run that fails part-way changes nothing.

The first run of a set of fetches compiles them; the Program is cached by
(fetches, fed Nodes, and the fed values' shapes and dtypes), so later runs
just check the feeds and execute.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from symgraph.compiler.passes import PASSES
from symgraph.compiler.pipeline import compile_steps
from symgraph.errors import CheckpointError, FeedError, FetchError, GraphError, shape_str
from symgraph.graph import Graph, Node, Variable, get_default_graph

#: passes that take a Node's work out of its own checked instruction (fold runs it while
#: compiling, fuse runs several Nodes as one); debug mode turns them off
_DEBUG_OFF = ("fold", "fuse")

CHECKPOINT_FORMAT = 1
_FORMAT_KEY = "__symgraph_checkpoint_format__"


class Session:
    """Runs a Graph's Nodes; `debug=True` checks every result for NaN and Inf."""

    def __init__(self, graph: Graph | None = None, debug: bool = False, disable=()):
        self.graph = graph or get_default_graph()
        self.debug = debug
        self.disable = disable
        self._values: dict[Variable, np.ndarray] = {}
        self._programs: dict[tuple, object] = {}
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        self._closed = True
        self._programs.clear()

    # -- running ------------------------------------------------------------------
    def run(self, fetches, feed_dict=None):
        """Compute `fetches` (a Node, or a list, tuple or dict of them), answered in
        the same structure; an update Node answers None."""
        if self._closed:
            raise GraphError("this Session is closed", hint="open a new sg.Session()")
        if isinstance(fetches, Node):  # the commonest case, kept quick
            flat, rebuild = [fetches], _only
        else:
            flat, rebuild = _flatten(fetches)
        for f in flat:
            self._check_fetch(f)
        feeds = self._check_feeds(feed_dict or {})
        return rebuild(self._execute(self._program_for(flat, feeds), feeds))

    def _execute(self, program, feeds: dict) -> list:
        """Run `program` on checked feeds; commit its updates; return copies of its answers."""
        fetched, updates = program.execute(
            [feeds[node] for _, node in program.feeds],
            [self._value(var) for _, var in program.variables],
            self.debug,
        )
        answers = [_own_copy(v) for v in fetched]  # before the commit writes into Variables
        if updates:
            self._commit(updates, program)
        return answers

    def make_callable(self, fetches, feed_list=()):
        """TF1's `Session.make_callable`: `f = sess.make_callable(loss, [x, y]); f(xb, yb)`.

        The fetches and the fed Nodes are checked once, here; each fed value is
        checked in full on the first call, and later calls only confirm it has the
        same shape and dtype as then (anything else goes through the full check
        again). What is left per call is running the Program and committing.
        """
        if self._closed:
            raise GraphError("this Session is closed", hint="open a new sg.Session()")
        flat, rebuild = _flatten(fetches)
        for f in flat:
            self._check_fetch(f)
        feed_list = list(feed_list)
        for node in feed_list:
            self._check_feed_node(node)
        checked = {}  # (shape, dtype) of each value -> the Program, once a call passed the checks

        def call(*values):
            if len(values) != len(feed_list):
                raise FeedError(
                    f"this callable takes {len(feed_list)} value(s), for "
                    f"{', '.join(n.name for n in feed_list) or 'no Nodes'}; got {len(values)}"
                )
            signature = tuple(
                (v.shape, v.dtype) if type(v) is np.ndarray else None for v in values
            )
            program = checked.get(signature)
            if program is None:  # values of a new shape or dtype: check everything
                feeds = self._check_feeds(dict(zip(feed_list, values)))
                program = self._program_for(flat, feeds)
                if all(feeds[n] is v for n, v in zip(feed_list, values)):  # taken as they were
                    checked[signature] = program
            else:
                feeds = dict(zip(feed_list, values))
            return rebuild(self._execute(program, feeds))

        return call

    def _program_for(self, flat, feeds):
        signature = [(n.id, v.shape, v.dtype.str) for n, v in feeds.items()]
        if len(signature) > 1:
            signature.sort()  # the same feeds in another order are the same Program
        key = (tuple(f.id for f in flat), tuple(signature))
        program = self._programs.get(key)
        if program is None:
            program, _ = compile_steps(
                flat, feeds, self._passes_off(), keep_steps=False, require_feeds=True
            )
            self._programs[key] = program
        return program

    def _passes_off(self):
        """The passes to skip: those asked for, and in debug mode those in _DEBUG_OFF,
        so that a NaN is traced to the Node that made it."""
        if not self.debug or self.disable == "all":
            return self.disable
        off = [self.disable] if isinstance(self.disable, str) else list(self.disable)
        return off + [name for name, _ in PASSES if name in _DEBUG_OFF and name not in off]

    def _commit(self, updates, program) -> None:
        """Store the new values. Each Variable has an array of its own.

        The new values may live in the Program's reused buffers, or be a feed, or
        another Variable's array: copying them into the Variable's own array keeps
        the Session's state apart from all of those. A value that overlaps an array
        being written (a swap, assign(a, b) with assign(b, a)) is copied first, so
        every update sees the values from before the commit.

        When the new value sits in one of the Program's buffers, no copy is needed:
        the Variable takes that buffer, and the Program takes the Variable's old
        array in its place, to write the next run's value into (a swap of two arrays).
        """
        targets = [self._values.get(var) for var, _ in updates]
        staged = []
        for var, value in updates:
            if any(t is not None and np.may_share_memory(value, t) for t in targets):
                value = value.copy()
            staged.append((var, value))
        for var, value in staged:
            own = self._values.get(var)
            owned = own is not None and own is not var.initial_value
            if owned and program.swap_buffer(value, own):
                self._values[var] = value
            elif not owned or own.shape != value.shape:
                self._values[var] = np.array(value, dtype=var.dtype, copy=True)
            else:
                np.copyto(own, value)

    def _value(self, var: Variable) -> np.ndarray:
        """A Variable's current value; a Variable new to this Session starts at its initial value."""
        value = self._values.get(var)
        if value is None:
            value = self._values[var] = var.initial_value
        return value

    def initialize(self, vars=None) -> None:  # noqa: A002 - TF1-style name
        """Reset the given Variables (all of the graph's when None) to their initial values."""
        for var in self.graph.variables if vars is None else vars:
            self._values[var] = var.initial_value

    # -- checks ----------------------------------------------------------------------
    def _check_fetch(self, f) -> None:
        if not isinstance(f, Node):
            raise FetchError(
                f"Session.run can only fetch Nodes, got {type(f).__name__}: {f!r}",
                hint="fetch the Node itself (a Placeholder, Variable or op result)",
            )
        if f.graph is not self.graph:
            raise GraphError(
                f"fetch {f.name} belongs to another Graph than this Session's",
                node=f,
                hint="open the Session on that graph: sg.Session(graph=...), or build the Node "
                "inside `with graph.as_default():`",
            )

    def _check_feeds(self, feed_dict) -> dict:
        if not isinstance(feed_dict, dict):
            raise FeedError(f"feed_dict must be a dict of Node -> value, got {type(feed_dict).__name__}")
        feeds = {}
        for node, value in feed_dict.items():
            self._check_feed_node(node)
            feeds[node] = _check_feed_value(node, value)
        return feeds

    def _check_feed_node(self, node) -> None:
        if not isinstance(node, Node):
            raise FeedError(
                f"feed_dict keys must be Nodes, got {type(node).__name__}: {node!r}",
                hint="use the Placeholder object as the key (graph.get_node(name) finds it by name)",
            )
        if node.graph is not self.graph:
            raise FeedError(
                f"fed Node {node.name} belongs to another Graph than this Session's", node=node
            )

    # -- checkpoints ---------------------------------------------------------------------
    def save(self, path) -> str:
        """Write every Variable's value, by name, to a .npz file; atomically (temp file + rename)."""
        path = os.fspath(path)
        arrays = {_FORMAT_KEY: np.asarray(CHECKPOINT_FORMAT)}
        for var in self.graph.variables:
            arrays[var.name] = self._value(var)
        folder = os.path.dirname(os.path.abspath(path))
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException as e:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)  # never leave a half-written file behind
            if isinstance(e, OSError):  # a missing folder, no permission, a full disk
                raise CheckpointError(
                    f"cannot write a checkpoint to {path}: {e.strerror or e}",
                    hint="check that the folder exists and is writable",
                ) from None
            raise
        return path

    def restore(self, path) -> None:
        """Load Variable values saved by `save`; checks everything before changing anything."""
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise CheckpointError(f"no checkpoint at {path}", hint="check the path") from None
        except Exception as e:
            raise CheckpointError(
                f"{path} is not a symgraph checkpoint ({type(e).__name__}: {e})",
                hint="pass a file written by Session.save",
            ) from None
        version = stored.pop(_FORMAT_KEY, None)
        if version is None or int(version) != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{path} has checkpoint format {version}, this symgraph reads {CHECKPOINT_FORMAT}",
                hint="save it again with this version of symgraph",
            )
        new_values = {}
        missing = []
        for var in self.graph.variables:
            if var.name not in stored:
                missing.append(var.name)
                continue
            value = stored[var.name]
            if value.shape != var.shape or value.dtype != var.dtype:
                raise CheckpointError(
                    f"checkpoint value for {var.name} is {shape_str(value.shape)} {value.dtype}, "
                    f"the Variable is {shape_str(var.shape)} {var.dtype}",
                    node=var,
                    hint="the checkpoint was saved from a different model",
                )
            new_values[var] = value
        if missing:
            raise CheckpointError(
                f"{path} has no value for Variable(s) {', '.join(missing)}; "
                f"it has {', '.join(sorted(stored)) or 'none'}",
                hint="variables are matched by name: build the model with the same names",
            )
        for var, value in new_values.items():
            self._values[var] = value  # a fresh array from the file: the Session's own


def _check_feed_value(node: Node, value) -> np.ndarray:
    # the usual case, checked quickly: an array of the right dtype and shape
    if (
        type(value) is np.ndarray
        and value.dtype == node.dtype
        and value.ndim == len(node.shape)
        and all(d is None or d == a for d, a in zip(node.shape, value.shape))
    ):
        return value
    try:
        array = np.asarray(value)
    except Exception as e:
        raise FeedError(f"cannot turn the value fed for {node.name} into an array: {e}", node=node) from None
    if array.dtype == object:
        raise FeedError(
            f"the value fed for {node.name} is not numeric (or its rows differ in length)",
            node=node,
        )
    if array.dtype != node.dtype:
        if not np.can_cast(array.dtype, node.dtype, "same_kind"):
            raise FeedError(
                f"{node.name} expects {node.dtype} but was fed {array.dtype}",
                node=node,
                hint=f"convert the value first: np.asarray(value, dtype='{node.dtype}')",
            )
        if (
            array.dtype.kind in "iu"
            and node.dtype.kind in "iu"
            and array.size
            and (array.min() < np.iinfo(node.dtype).min or array.max() > np.iinfo(node.dtype).max)
        ):
            raise FeedError(
                f"{node.name} expects {node.dtype}, and the {array.dtype} values fed do not fit in "
                f"it (they range from {array.min()} to {array.max()})",
                node=node,
                hint=f"feed values within the range of {node.dtype}, or declare the Placeholder wider",
            )
        array = array.astype(node.dtype)
    if array.ndim != len(node.shape) or any(
        d is not None and d != a for d, a in zip(node.shape, array.shape)
    ):
        raise FeedError(
            f"{node.name} expects shape {shape_str(node.shape)} but was fed {shape_str(array.shape)}",
            node=node,
            hint="None in the expected shape takes any size; the other dims must match",
        )
    return array


def _own_copy(value):
    """What run() hands back: never a view of the Session's memory; a 0-d array as a NumPy scalar."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value[()] if value.ndim == 0 else value.copy()
    return np.asarray(value)[()]


def _only(values):
    return values[0]


def _flatten(fetches):
    """Flatten a fetch structure (Nodes in lists, tuples and dicts, nested as deep as you
    like); return the Nodes and a function that rebuilds the same structure from values.

    The recursion follows the nesting of the *fetch structure*, which a person
    writes by hand, never the depth of the graph.
    """
    flat = []

    def walk(item):
        if isinstance(item, dict):
            keys = list(item)
            parts = [walk(item[k]) for k in keys]
            return lambda values: {k: p(values) for k, p in zip(keys, parts)}
        if isinstance(item, (list, tuple)):
            kind = type(item)
            parts = [walk(x) for x in item]
            if kind in (list, tuple):
                return lambda values: kind(p(values) for p in parts)
            return lambda values: kind(*(p(values) for p in parts))  # a namedtuple
        index = len(flat)
        flat.append(item)
        return lambda values: values[index]

    rebuild = walk(fetches)
    return flat, rebuild
