"""Session: holds the Variables' values and runs compiled Programs.

    with sg.Session() as sess:
        loss_value, _ = sess.run([loss, train], feed_dict={x: xb, y: yb})

A run is a transaction. Every op in it reads the Variables as they were when
the run started; the updates it computed are stored only after the whole run
succeeded, so a run that fails part-way changes nothing.

The first run of a set of fetches compiles them; the Program is cached by
(fetches, fed Nodes, and the fed values' shapes and dtypes), so later runs
just check the feeds and execute. A run with the same fetches and fed Nodes as
an earlier one checks even less: only that each fed value is an array of the
shape and dtype that passed before (see _Runner); `make_callable` does the same.
"""

from __future__ import annotations

import os
import secrets
import warnings
import zipfile

import numpy as np

from symgraph.compiler.passes import PASSES
from symgraph.compiler.pipeline import compile_steps, passes_to_skip
from symgraph.errors import CheckpointError, FeedError, FetchError, GraphError, shape_str
from symgraph.feeds import check_feed_value
from symgraph.graph import Graph, Node, Variable, get_default_graph, user_stacklevel

#: passes that take a Node's work out of its own checked instruction (fold runs it while
#: compiling, fuse runs several Nodes as one); debug mode turns them off
_DEBUG_OFF = ("fold", "fuse")

#: a new Variable value larger than this takes the place of the Variable's array (a
#: swap, see _commit); a smaller one is copied into it, which is quicker
SWAP_ABOVE_BYTES = 32 * 1024

#: Programs a Session keeps compiled, one per set of fetches and feed shapes, the least
#: recently used dropped first: room for training, evaluation and a ragged last batch
#: many times over. A model fed more shapes than this compiles the old ones again.
KEEP_PROGRAMS = 32
#: how many of them (the most recently used) keep their planned buffers between runs;
#: the others make them again when they next run. Memory for a few shapes at a time,
#: not for every batch size the Session was ever fed.
KEEP_BUFFERS = 4

CHECKPOINT_FORMAT = 1
_FORMAT_KEY = "__symgraph_checkpoint_format__"


class Session:
    """Runs a Graph's Nodes; `debug=True` checks every result for NaN and Inf."""

    def __init__(self, graph: Graph | None = None, debug: bool = False, disable=()):
        if graph is not None and not isinstance(graph, Graph):
            raise GraphError(
                f"Session(graph) takes a Graph, got {type(graph).__name__}: {graph!r}",
                hint="sg.Session() runs the default graph; sg.Session(graph) another one",
            )
        self.graph = graph or get_default_graph()
        self.debug = debug
        self.disable = () if disable is None else disable  # None: no pass skipped
        passes_to_skip(self.disable)  # a misspelt pass name is an error now, not at the first run
        self._values = _Values()  # Variable -> its current value
        self._programs: dict[tuple, object] = {}
        self._dropped: set = set()  # keys of the Programs let go of (see _program_for)
        self._said_recompiling = False
        self._said_many_fetches = False  # see run: more sets of fetches than KEEP_PROGRAMS
        self._runners: dict[tuple, _Runner] = {}  # run()'s quick path: see _runner_key
        # what stateful ops keep between runs, by Node id: each random Node's stream,
        # started from its seed in every new Session (Program.bind_state)
        self._states: dict[int, object] = {}
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        self._closed = True
        # the buffers go now: a Program's generated code refers to itself (a reference
        # cycle), so without this they would wait for Python's cycle collector
        for program in self._programs.values():
            program.release_buffers()
        self._programs.clear()
        self._runners.clear()

    # -- running ------------------------------------------------------------------
    def run(self, fetches, feed_dict=None):
        """Compute `fetches` (a Node, or a list, tuple or dict of them), answered in
        the same structure; an update Node answers None."""
        # The quick path. A training loop runs the same fetches with the same fed Nodes
        # thousands of times, and their checks (is each a Node of this Session's Graph?)
        # would give the same answer every time: a Node never changes its Graph. So the
        # first run keeps a _Runner for them, which from then on checks only the values.
        key = _runner_key(fetches, feed_dict)
        runner = self._runners.get(key)
        if runner is not None:
            return runner.call(*feed_dict.values()) if feed_dict else runner.call()
        flat, rebuild = self._checked_fetches(fetches)
        feed_dict = feed_dict or {}
        if not isinstance(feed_dict, dict):
            raise FeedError(
                f"feed_dict must be a dict of Node -> value, got {type(feed_dict).__name__}",
                hint="pass {placeholder: value, ...}, e.g. sess.run(y, {x: batch}), or nothing",
            )
        runner = _Runner(self, flat, rebuild, list(feed_dict))
        answer = runner.call(*feed_dict.values())  # its first call checks every feed
        if key is not None:  # all checks passed: later runs like this one take the quick path
            self._keep_runner(key, runner)
        return answer

    def _keep_runner(self, key, runner) -> None:
        """Keep `runner` for run()'s quick path: as many as Programs (KEEP_PROGRAMS), the
        oldest let go first. Needing more is said once: it is how a new Node built in
        every step of a training loop shows, each step then compiling a Program."""
        if len(self._runners) >= KEEP_PROGRAMS:
            self._runners.pop(next(iter(self._runners)))
            if not self._said_many_fetches:
                self._said_many_fetches = True
                warnings.warn(
                    f"this Session has run more than {KEEP_PROGRAMS} different sets of "
                    "fetches, and compiles a Program for each new one: is a new Node built "
                    "inside the training loop (sg.gradients, minimize, or loss * 1.0 each "
                    "step)? Build the graph once, before the loop, and fetch the same Nodes",
                    stacklevel=user_stacklevel(),
                )
        self._runners[key] = runner

    def _run_changing_nothing(self, fetches, feed_dict=None):
        """Compute `fetches` as run does, but leave the Session exactly as it was: no
        update is committed, and every random stream (Dropout's) is put back where it
        was. Pictures of a run's values (viz/values.py) are taken this way, so that
        drawing one does not change the masks of the next training run."""
        flat, rebuild = self._checked_fetches(fetches)
        feeds = self._check_feeds(dict(feed_dict or {}))
        program = self._program_for(flat, feeds)  # makes the streams it needs, if new
        values = [feeds[node] for _, node in program.feeds]
        current = [self._values[var] for _, var in program.variables]
        saved = program.save_states()
        try:
            fetched, _ = program.execute(values, current, self.debug)  # updates dropped
        finally:
            program.restore_states(saved)
        return rebuild([_own_copy(v) for v in fetched])

    def make_callable(self, fetches, feed_list=()):
        """TF1's `Session.make_callable`: `f = sess.make_callable(loss, [x, y]); f(xb, yb)`.

        The fetches and the fed Nodes are checked once, here; each fed value is
        checked in full on the first call, and later calls only confirm it has the
        same shape and dtype as then (anything else goes through the full check
        again). What is left per call is running the Program and committing.
        """
        flat, rebuild = self._checked_fetches(fetches)
        feed_list = [feed_list] if isinstance(feed_list, Node) else list(feed_list)
        for node in feed_list:
            self._check_feed_node(node)
        # positional: a wrong value is named by its place in feed_list (see _Runner._check)
        return _Runner(self, flat, rebuild, feed_list, positional=True).call

    def _check_open(self) -> None:
        """A closed Session runs, saves, restores and initializes nothing more, as in TF1."""
        if self._closed:
            raise GraphError("this Session is closed", hint="open a new sg.Session()")

    def _checked_fetches(self, fetches):
        """The fetched Nodes, each checked, and a function that answers in their structure."""
        self._check_open()
        if isinstance(fetches, Node):  # the commonest case, kept quick
            flat, rebuild = [fetches], _only
        else:
            flat, rebuild = _flatten(fetches)
        for f in flat:
            self._check_fetch(f)
        return flat, rebuild

    def _program_for(self, flat, feeds):
        signature = [(n.id, v.shape, v.dtype.str) for n, v in feeds.items()]
        if len(signature) > 1:
            signature.sort()  # the same feeds in another order are the same Program
        key = (tuple(f.id for f in flat), tuple(signature))
        # taken out and put back: the dict's order is then the order of use, oldest first
        program = self._programs.pop(key, None)
        if program is None and key in self._dropped and not self._said_recompiling:
            self._said_recompiling = True
            warnings.warn(
                f"this Session compiles a Program again that it let go of: it keeps the "
                f"{KEEP_PROGRAMS} it used last, and was fed more shapes than that (batch sizes?) "
                "for the same fetches, or asked for more sets of fetches (a new Node built "
                "every step?), so every run may compile anew; feed a few shapes only (pad the "
                "batches, or drop the last short one), and build the graph once, before the loop",
                stacklevel=user_stacklevel(),
            )
        if program is None:
            program, _ = compile_steps(
                flat, feeds, self._passes_off(), keep_steps=False, require_feeds=True
            )
            program.bind_state(self._states)
            if len(self._programs) >= KEEP_PROGRAMS:
                oldest = next(iter(self._programs))
                dropped = self._programs.pop(oldest)
                dropped.release_buffers()
                dropped.dropped = True  # a _Runner that still holds it asks for it again
                # (once it is said, no need to remember; and a bounded memory of them)
                if not self._said_recompiling and len(self._dropped) < 4 * KEEP_PROGRAMS:
                    self._dropped.add(oldest)
        self._programs[key] = program
        if len(self._programs) > KEEP_BUFFERS:  # the one this use may have pushed out
            list(self._programs.values())[-KEEP_BUFFERS - 1].release_buffers()
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
        # A value in one of the Program's own buffers overlaps nothing else: only the rest
        # (a feed, a Variable's array or a view of one) is checked against every array
        # being written. Checking every value against every array cost Adam's 4 updates
        # a parameter 90% of a step of a 40-parameter model.
        targets = None
        staged = []
        for var, value in updates:
            if not program.owns(value):
                if targets is None:
                    targets = [self._values.get(v) for v, _ in updates]
                if any(t is not None and np.may_share_memory(value, t) for t in targets):
                    value = value.copy()
            staged.append((var, value))
        # A Variable's array is read-only between commits: a kernel that writes into its
        # input by mistake then fails at once, in every run, rather than change a
        # Variable (even in a run that fails). Only the commit itself writes.
        for var, value in staged:
            own = self._values.get(var)
            owned = own is not None and own is not var.initial_value
            if owned:
                own.flags.writeable = True  # the Session's own array: to the Program, or copied into
            # a small value is copied: a copy of a few thousand numbers costs less than
            # the swap's bookkeeping (the Program's views into that block made again)
            if owned and value.nbytes > SWAP_ABOVE_BYTES and program.swap_buffer(value, own):
                self._values[var] = value
            elif not owned or own.shape != value.shape:
                self._values[var] = np.array(value, dtype=var.dtype, copy=True)
            else:
                np.copyto(own, value)
            self._values[var].flags.writeable = False

    def initialize(self, vars=None) -> None:  # noqa: A002 - TF1-style name
        """Reset the given Variables (all of the graph's when None; one Variable, a list
        of them, or a Module's) to their initial values."""
        self._check_open()
        if vars is None:
            chosen = list(self.graph.variables)
        elif isinstance(vars, Node):
            chosen = [vars]
        elif callable(getattr(vars, "buffers", None)):  # a Module: all of its Variables
            chosen = vars.parameters() + vars.buffers()
        elif isinstance(vars, (list, tuple, set)):
            chosen = list(vars)
        else:
            what = "the method, uncalled" if callable(vars) else type(vars).__name__
            raise GraphError(
                f"initialize takes Variables, got {what}: {vars!r}",
                hint=_INITIALIZE_TAKES + ("; call it: module.parameters()" if callable(vars) else ""),
            )
        for var in chosen:  # all checked first: a bad one in the list changes nothing
            if not isinstance(var, Variable):
                what = f"{var.name} ({var.op.name})" if isinstance(var, Node) else repr(var)
                raise GraphError(
                    f"initialize takes Variables, got {what}",
                    node=var if isinstance(var, Node) else None,
                    hint=_INITIALIZE_TAKES,
                )
            if var.graph is not self.graph:
                raise GraphError(
                    f"Variable {var.name} belongs to another Graph than this Session's",
                    node=var,
                    hint="initialize it in a Session of its own graph",
                )
        for var in chosen:
            self._values[var] = var.initial_value

    # -- checks ----------------------------------------------------------------------
    def _check_fetch(self, f) -> None:
        if not isinstance(f, Node):
            raise FetchError(
                f"only Nodes can be fetched (by Session.run or make_callable), got "
                f"{type(f).__name__}: {f!r}",
                hint="fetch the Node itself (a Placeholder, Variable or op result)",
            )
        if f.graph is not self.graph:
            raise GraphError(
                f"fetch {f.name} belongs to another Graph than this Session's",
                node=f,
                hint="open the Session on that graph: sg.Session(graph=...), or build the Node "
                "inside `with graph.as_default():`",
            )

    def _check_feeds(self, feed_dict: dict) -> dict:
        """Each fed Node and its value, in order: the value as an array of the Node's dtype."""
        feeds = {}
        for node, value in feed_dict.items():
            self._check_feed_node(node)
            feeds[node] = check_feed_value(node, value)
        return feeds

    def _check_feed_node(self, node) -> None:
        if not isinstance(node, Node):
            raise FeedError(
                "values are fed for Nodes (the keys of feed_dict, the items of make_callable's "
                f"feed_list), got {type(node).__name__}: {node!r}",
                hint="use the Placeholder object as the key (graph.get_node(name) finds it by name)",
            )
        if node.graph is not self.graph:
            raise FeedError(
                f"fed Node {node.name} belongs to another Graph than this Session's",
                node=node,
                hint="feed the Placeholders of the Session's graph, or open a Session on "
                "the other graph: sg.Session(graph)",
            )
        if node.op.is_update:  # fed, it would stand for its updates, which then never run
            raise FeedError(
                f"{node.name} is an update ({node.op.name}): it changes Variables, and has no "
                "value to feed",
                node=node,
                hint=f"fetch {node.name} to run its updates; feed Placeholders (or other values) instead",
            )

    # -- checkpoints ---------------------------------------------------------------------
    def save(self, path) -> str:
        """Write every Variable's value, by name, to a .npz file; atomically (temp file + rename)."""
        self._check_open()
        path = os.fspath(path)
        arrays = {_FORMAT_KEY: np.asarray(CHECKPOINT_FORMAT)}
        for var in self.graph.variables:
            if var.name == _FORMAT_KEY:
                raise CheckpointError(
                    f"a Variable may not be named {_FORMAT_KEY}: checkpoints keep their format "
                    "under that name",
                    node=var,
                    hint="give the Variable another name",
                )
            arrays[var.name] = self._values[var]
        tmp = None
        try:
            # a fresh name beside the file ("x": never over another), made with the
            # permissions the user's umask gives (mkstemp's would be owner-only)
            tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
            with open(tmp, "xb") as f:
                _write_npz(f, arrays)
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
        self._check_open()
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise CheckpointError(f"no checkpoint at {path}", hint="check the path") from None
        except OSError as e:  # a directory, no permission: the file is not the question
            raise CheckpointError(f"cannot read {path}: {e.strerror or e}", hint="check the path") from None
        except Exception:
            # NumPy's own message here can be "load it unsafely using allow_pickle=": a
            # checkpoint never holds pickled objects, so that is not the way out
            raise CheckpointError(
                f"{path} is not a symgraph checkpoint: Session.save writes a .npz file of "
                "arrays, and this file is not one",
                hint="pass a file written by Session.save",
            ) from None
        version = stored.pop(_FORMAT_KEY, None)
        if version is None:
            raise CheckpointError(
                f"{path} is not a symgraph checkpoint: it is a .npz file of arrays, but "
                "Session.save did not write it (it has no checkpoint format)",
                hint="pass a file written by Session.save; to load other arrays into "
                "Variables, feed them to sg.assign, or make Variables from them",
            )
        if int(version) != CHECKPOINT_FORMAT:
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
            value.flags.writeable = False  # as every Variable's value (see _commit)


_INITIALIZE_TAKES = "give sess.initialize() a Variable, a list of them, a Module, or nothing for all"


def _write_npz(f, arrays: dict) -> None:
    """A .npz file, as np.savez writes one (a zip of .npy files, one a name, which
    np.load reads), but taking any name: np.savez takes the names as keyword
    arguments, so a Variable named 'file' failed and one named 'allow_pickle' was
    left out of the file without a word."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)


class _Values(dict):
    """Variable -> its value in this Session.

    A Variable new to the Session (even one created after it opened) starts at its
    initial value, so `values[var]` always answers. `changes` counts the arrays stored,
    so a _Runner can keep the list of values it read until one of them is replaced.
    """

    changes = 0

    def __setitem__(self, var, value):
        super().__setitem__(var, value)
        self.changes += 1

    def __missing__(self, var):
        value = self[var] = var.initial_value
        return value


class _Runner:
    """Runs one set of fetches, fed with values for a fixed list of Nodes, checking as
    little as is safe. `make_callable` hands out its `call`; `run` keeps one per
    (fetches, fed Nodes) it has seen.

    The fetches and the fed Nodes were checked when the runner was made. A call's
    values get the full check, unless they are arrays of the same shapes and dtypes
    as those of the last call whose values the full check took as they were: those
    would pass again, unchanged, so that call's Program runs them as they are.
    """

    def __init__(self, session, flat, rebuild, feed_list, positional=False):
        self.session = session
        self.flat = flat  # the fetched Nodes
        self.rebuild = rebuild  # values -> the structure the fetches were asked in
        self.feed_list = feed_list  # the fed Nodes, in the order their values come
        self.program = None  # the Program of the last call that passed as it was,
        self.shapes = self.dtypes = ()  # the shapes and dtypes of its values,
        self.order = None  # and where its Program's feeds are in them, if not in order
        self.current, self.read_at = [], -1  # its Variables' values, read at _Values.changes
        self.positional = positional  # make_callable's: its caller gives the values in order

    def call(self, *values):
        """Run with `values` for the fed Nodes, in order; answer as Session.run does."""
        session = self.session
        if session._closed:
            raise GraphError("this Session is closed", hint="open a new sg.Session()")
        program, shapes, dtypes = self.program, self.shapes, self.dtypes
        if len(values) != len(shapes) or program is None or program.dropped:
            program = None
        else:
            # the quick check: arrays of exactly the shapes and dtypes that passed last time
            # (a plain loop: zip() over three sequences or any() cost more, measured)
            for i, value in enumerate(values):
                if (
                    type(value) is not np.ndarray
                    or value.shape != shapes[i]
                    or value.dtype != dtypes[i]
                ):
                    program = None
                    break
        variables = session._values
        if program is None:
            program, values = self._check(values)
            current = [variables[var] for _, var in program.variables]
        else:
            if self.order is not None:
                values = [values[i] for i in self.order]
            # the Variables' values, read again only when one was replaced since last time
            current = self.current
            if self.read_at != variables.changes:
                current = self.current = [variables[var] for _, var in program.variables]
                self.read_at = variables.changes
        fetched, updates = program.execute(values, current, session.debug)
        # copies, made before the commit writes into Variables; one fetch needs no loop
        if len(fetched) == 1:
            answers = [_own_copy(fetched[0])]
        else:
            answers = [_own_copy(v) for v in fetched]
        if updates:
            session._commit(updates, program)
        return self.rebuild(answers)

    def _check(self, values):
        """The full check of a call's values: (the Program to run, its feed values in the
        order of `program.feeds`). Remembers the Program when every value was taken as it was."""
        if len(values) != len(self.feed_list):
            raise FeedError(
                f"this callable takes {len(self.feed_list)} value(s), for "
                f"{', '.join(n.name for n in self.feed_list) or 'no Nodes'}; got {len(values)}",
                hint="call it with one value for each Node of the feed_list given to "
                "make_callable, in that order",
            )
        try:
            feeds = self.session._check_feeds(dict(zip(self.feed_list, values)))
        except FeedError as e:
            if not self.positional or len(self.feed_list) < 2 or e.node not in self.feed_list:
                raise
            names = ", ".join(n.name for n in self.feed_list)
            position = self.feed_list.index(e.node) + 1
            raise FeedError(
                e.headline, node=e.node,
                hint=(f"{e.hint}; " if e.hint else "")
                + f"this callable takes its values in the order {names}, "
                f"and value {position} is the one for {e.node.name}",
            ) from None
        program = self.session._program_for(self.flat, feeds)
        if all(feeds[node] is value for node, value in zip(self.feed_list, values)):
            self.program, self.read_at = program, -1
            self.shapes = tuple(value.shape for value in values)
            self.dtypes = tuple(value.dtype for value in values)
            # where each of the Program's feeds is in a call's values (a Node fed twice: the last)
            where = {node: i for i, node in enumerate(self.feed_list)}
            order = [where[node] for _, node in program.feeds]
            self.order = None if order == list(range(len(values))) else order
        return program, [feeds[node] for _, node in program.feeds]


def _runner_key(fetches, feed_dict):
    """What run() finds its _Runner by: the fetches and the fed Nodes, in order.

    None (no quick path) unless the fetches are one Node, or a list, tuple or dict of
    Nodes, and the feed_dict is a dict or None. A list of Nodes is keyed by its type and
    a tuple of its items, so that later changes to the list cannot reach the key; a
    dict by its (name, Node) pairs, in order.
    """
    if feed_dict is None:
        feed_dict = ()
    elif type(feed_dict) is not dict:
        return None
    if isinstance(fetches, Node):
        return (fetches, *feed_dict)
    if type(fetches) in (list, tuple) and all(isinstance(f, Node) for f in fetches):
        return (type(fetches), tuple(fetches), *feed_dict)
    if type(fetches) is dict and all(isinstance(f, Node) for f in fetches.values()):
        return (dict, tuple(fetches.items()), *feed_dict)
    return None


def _own_copy(value):
    """What run() hands back: never a view of the Session's memory; a 0-d array as a NumPy scalar."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value[()] if value.ndim == 0 else value.copy()
    if isinstance(value, np.number | np.bool_):  # a NumPy scalar cannot change: no copy needed
        return value
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
