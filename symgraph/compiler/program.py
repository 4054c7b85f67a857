"""Program: the compiled form of a graph, a flat list of kernel calls over numbered slots.

`print(program)` shows it as a listing, one instruction a line:

    %7 = matmul %0, %2          (None, 8) float64   hidden/matmul    free %0

meaning: call matmul's kernel on the values in slots 0 and 2, put the result
in slot 7, then drop slot 0's value (nothing reads it any more). Feeds,
Variables and Constants fill their slots before the first instruction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from symgraph.compiler import codegen
from symgraph.compiler.stats import program_stats
from symgraph.errors import FeedError, NumericError, RunError, SymgraphError, shape_str
from symgraph.feeds import check_feed_value
from symgraph.ops.base import check_wrote_into_out, shapes_agree


@dataclass(slots=True)  # no per-instruction __dict__: a Program keeps thousands
class Instruction:
    out: int  # the slot the result goes to
    op: object  # the Op whose kernel runs
    args: tuple  # the slots read
    attrs: dict
    name: str  # the Node's name, for people
    shape: tuple
    dtype: np.dtype
    origin: str
    node: object  # the user's Node (None for a vertex a pass made)
    free: tuple = ()  # slots whose last reader this is
    buffer: int | None = None  # the planned buffer the kernel writes into (memory.py), if any
    view: int | None = None  # which view of that buffer, in this instruction's shape
    in_place: bool = False  # a concat whose parts were written straight into it (memory.py)
    span: tuple | None = None  # (first element, end) of the buffer it writes into (memory.py)
    scratch: int | None = None  # the view of its work array, for an op with a workspace (memory.py)
    scratch_span: tuple | None = None  # (buffer, first element, end) of that work array
    kernel: object = None  # op.forward with the attrs bound, set by Program.finish()

    def listing(self) -> str:
        args = ", ".join(f"%{a}" for a in self.args)
        type_ = f"{shape_str(self.shape)} {self.dtype.name}"
        line = _row(f"%{self.out} = {codegen.one_line(self.op.name)} {args}", type_, self.name)
        if "formula" in self.attrs:  # a fused instruction: show what it computes
            line += "   = " + self.attrs["formula"].format(*(f"%{a}" for a in self.args))
        if self.buffer is not None:
            line += f"   -> buf{self.buffer}[{self.span[0]}:{self.span[1]}]"
            if self.in_place:
                line += " (parts written in place)"
        if self.scratch is not None:
            buffer, first, end = self.scratch_span
            line += f"   work buf{buffer}[{first}:{end}]"
        free = self.free
        if self.op.is_update and not self.op.takes_updates and self.args:
            # an assign hands its new value on to the Session, which commits it after the
            # run: that value is not freed here, whatever the schedule says of its slot
            free = tuple(s for s in free if s != self.args[-1])
            line += f"   keeps %{self.args[-1]} for the commit"
        if free:
            line += "   free " + ", ".join(f"%{s}" for s in free)
        return line


class Program:
    """Instructions in run order, plus where feeds, Variables and Constants go."""

    def __init__(self):
        self.instructions: list[Instruction] = []
        self.feeds: list[tuple[int, object]] = []  # (slot, Node fed)
        self.variables: list[tuple[int, object]] = []  # (slot, Variable)
        self.constants: list[tuple[int, object]] = []  # (slot, value)
        self.fetches: list[int] = []  # slots answered, in the order asked
        self.updates: list[tuple[object, int]] = []  # (Variable, slot of its new value)
        self.update_slots: set[int] = set()  # slots of update Nodes: fetching one answers None
        self.n_slots = 0
        self.feed_shapes: dict[int, tuple] = {}  # slot -> the shape the Program was planned for
        self.names: dict[int, str] = {}  # slot -> the name of the Node that fills it
        self.memory = None  # the MemoryPlan (memory.py)
        # The planned buffers (memory.py) are flat NumPy arrays, made on the first run;
        # an instruction writes into its view of one, a slice in its own shape.
        self._arrays = None  # buffer -> its array
        self._views = None  # Instruction.view -> that view
        self._views_in: dict[int, list[int]] = {}  # buffer -> the views into it, for swap_buffer
        self._view_index: dict[int, int] = {}  # id(view) -> its index, for swap_buffer
        self._fast = None  # the generated function (codegen.py), made on the second run
        self._source = None  # its Python source, to read
        self._generated = False
        self._runs = 0
        self._line_of: dict[int, int] = {}
        self._names: dict | None = None
        self._states: list = []  # (op, state) of each stateful instruction: see bind_state
        self.dropped = False  # let go of by its Session (KEEP_PROGRAMS): not to be run again

    def finish(self) -> None:
        """Bind each instruction's attrs to its kernel once, not on every run.
        (The Python source, codegen.py, is written later: see _generate.)"""
        for inst in self.instructions:
            inst.kernel = _parts_in_place if inst.in_place else inst.op.kernel(**inst.attrs)

    def bind_state(self, states: dict) -> None:
        """Give each instruction of a stateful op (a random stream) the state kept in
        `states` for its Node, made there on first sight. A Session passes its own
        dict, so all its Programs draw from one stream per Node, and a new Session
        starts each stream again. Done before the first run: the generated code
        (written on the second) takes each instruction's kernel as it is then."""
        kept = []
        for inst in self.instructions:
            if not inst.op.stateful:
                continue
            if inst.node.id not in states:
                states[inst.node.id] = inst.op.new_state(**inst.attrs)
            state = states[inst.node.id]
            if state is not None:
                inst.kernel = inst.op.kernel(**inst.attrs, state=state)
                kept.append((inst.op, state))
        if kept:
            # Only a Program with state to put back pays for it: the instance's own
            # `execute` stands in front of the class's, for this Program alone.
            self._states = kept
            self.execute = self._execute_keeping_states

    def _execute_keeping_states(self, feeds, variables, debug=False):
        """`execute`, for a Program whose ops keep state (random streams): a run that
        fails puts it back, so that, as for the Variables, a failed run changes nothing."""
        saved = self.save_states()
        try:
            return Program.execute(self, feeds, variables, debug)
        except BaseException:
            self.restore_states(saved)
            raise

    def save_states(self) -> list:
        """Where each random stream this Program draws from is now (see bind_state);
        restore_states puts them back there."""
        return [(op, state, op.save_state(state)) for op, state in self._states]

    def restore_states(self, saved: list) -> None:
        for op, state, snapshot in saved:
            op.restore_state(state, snapshot)

    @property
    def source(self) -> str:
        """The Program as Python source: the function a Session calls from the second run on."""
        self._generate()
        return self._source

    def _generate(self) -> None:
        """Write and compile the source once. It is done on the second run, not at
        compile time: a Program that runs once (a script's one-off fetch) never pays
        for it, and the first training step starts sooner.

        compile() needs memory of its own for a moment (see codegen.build), a sizable
        part of what the planned buffers take. So the buffers the first run made are
        let go before it, and the next run makes them again after it: the two never
        add up to the Program's peak memory. (Making them twice costs next to nothing.)
        """
        if self._generated:
            return
        self.release_buffers()
        self._fast, self._source, self._line_of, self._names = codegen.build(self)
        self._generated = True

    # -- running ------------------------------------------------------------------
    def _make_buffers(self):
        """Make the planned buffers and every instruction's view of them."""
        plan = self.memory
        self._arrays = [np.empty(s, d) for s, d in plan.buffers] if plan else []
        self._views_in = {}
        self._view_index = {}
        for index, (buffer, _, _, _) in enumerate(plan.views if plan else ()):
            self._views_in.setdefault(buffer, []).append(index)
        self._views = [None] * (len(plan.views) if plan else 0)
        for buffer in self._views_in:
            self._remake_views(buffer)
        return self._views

    def release_buffers(self) -> None:
        """Let go of the planned buffers until the next run, which makes them again:
        before compiling the source (see _generate), and for a Session, in the
        Programs it has not run lately (KEEP_BUFFERS)."""
        self._arrays = self._views = None
        self._views_in, self._view_index = {}, {}
        if self._names is not None:  # the generated code's own references to the views
            for index in range(len(self.memory.views) if self.memory else 0):
                self._names[f"b{index}"] = None

    def _remake_views(self, buffer) -> None:
        """The views into one buffer: each the elements from its offset on, in its shape."""
        flat = self._arrays[buffer]
        for index in self._views_in[buffer]:
            _, offset, shape, _ = self.memory.views[index]
            view = flat[offset : offset + math.prod(shape)].reshape(shape)
            old = self._views[index]
            if old is not None:
                self._view_index.pop(id(old), None)
            self._views[index] = view
            self._view_index[id(view)] = index
            if self._names is not None:  # the generated code reads them by name
                self._names[f"b{index}"] = view

    def owns(self, value) -> bool:
        """True if `value` is one of this Program's buffers (a view it made), which no
        Variable's array, feed or other value can overlap."""
        if self._views is None:
            return False
        index = self._view_index.get(id(value))
        return index is not None and self._views[index] is value

    def swap_buffer(self, value, replacement) -> bool:
        """If `value` is one of this Program's buffers, hand it over and use `replacement`
        (an array of the same shape and dtype) in its place from now on; else False.

        The Session commits a new Variable value this way without copying it. The
        value's whole buffer goes to the Variable, so the buffer must be exactly the
        value's size (the memory plan makes it so for new Variable values), and every
        view into it is made again from `replacement`.
        """
        if not self.owns(value):
            return False
        buffer = self.memory.views[self._view_index[id(value)]][0]
        if (
            self._arrays[buffer].size != value.size
            or replacement.shape != value.shape
            or replacement.dtype != value.dtype
            or not replacement.flags.c_contiguous
            or not replacement.flags.writeable
        ):
            return False
        self._arrays[buffer] = replacement.reshape(-1)  # a view of the same memory
        self._remake_views(buffer)
        return True

    def run(self, feed_values: dict, variable_values: dict, debug: bool = False):
        """Run once: `feed_values` maps each fed Node to its value, `variable_values`
        each Variable. Returns (fetched values, [(Variable, new value)]) and changes
        nothing itself.

        The arrays returned may live in the Program's reused buffers, which the next
        run overwrites: copy what you keep (Session.run does this for you).

        Each value is checked as Session.run checks it, and against the shape the
        Program was compiled for: its buffers are planned for that shape, and a
        value of another (a batch of 1 where 4 were planned) would be broadcast into
        them without a word.
        """
        feeds = []
        for slot, node in self.feeds:
            if node not in feed_values:
                raise FeedError(
                    f"this Program needs a value for {node.name}", node=node,
                    hint=f"pass it in feed_values: {{{node.name}: array}}",
                )
            value = check_feed_value(node, feed_values[node])
            planned = self.feed_shapes.get(slot, node.shape)
            if not shapes_agree(planned, value.shape):
                raise FeedError(
                    f"{node.name} was fed {shape_str(value.shape)}, but this Program was compiled "
                    f"for {shape_str(planned)}, and its buffers are planned for that shape",
                    node=node,
                    hint=f"compile one for this shape, sg.compile(fetches, {{{node.name}: value}}), or run "
                    "it in a Session, which compiles a Program for each set of feed shapes",
                )
            feeds.append(value)
        return self.execute(feeds, [variable_values[var] for _, var in self.variables], debug)

    def execute(self, feeds: list, variables: list, debug: bool = False):
        """`run`, given the values as lists in the order of `self.feeds` and
        `self.variables` (what the Session passes: no dicts to build on every run).

        The first run goes through `run_loop`; from the second on, the generated
        function runs it (see `print(program.source)`). Debug mode always uses
        `run_loop`, which can check every result, and so never needs the source.
        """
        if debug:
            return self.run_loop(feeds, variables, debug)
        if not self._generated:
            self._runs += 1
            if self._runs == 1:
                return self.run_loop(feeds, variables)
            self._generate()  # lets the buffers go: made again just below
        if self._views is None:
            self._make_buffers()
        try:
            fetched, new_values = self._fast(feeds, variables)
        except SymgraphError:
            raise
        except Exception as e:
            found = codegen.failing_instruction(e, self._line_of, self.n_slots)
            if found is None:
                raise
            index, env = found  # env: each slot's value, as in run_loop
            raise _kernel_error(self.instructions[index], env, e, self.names) from e
        if not new_values:  # no updates: skip building an empty list (0.3 us on a tiny run)
            return fetched, []
        return fetched, [(var, value) for (var, _), value in zip(self.updates, new_values)]

    def run_loop(self, feeds: list, variables: list, debug: bool = False):
        """The same run as a plain loop over the instructions: the reference, and debug mode."""
        env = [None] * self.n_slots
        for (slot, _), value in zip(self.feeds, feeds):
            env[slot] = value
        for (slot, _), value in zip(self.variables, variables):
            env[slot] = value
        for slot, value in self.constants:
            env[slot] = value
        buffers = self._views if self._views is not None else self._make_buffers()
        if debug:  # a NaN that comes in with a feed, a Variable or a Constant is named there
            for (_, node), value in zip(self.feeds + self.variables, [*feeds, *variables]):
                how = "fed for" if node.op.name != "variable" else "of"
                _check_given_finite(value, f"the value {how} {node.name}", node)
            for slot, value in self.constants:
                _check_given_finite(
                    value,
                    f"{self.names.get(slot, '?')}, a value known before the run (a Constant, "
                    "or a Placeholder's default)",
                    hint="check the value given to sg.Constant or to the Placeholder's default=",
                )
        for inst in self.instructions:
            # judged before the kernel runs: it may write its result over an input
            inputs_finite = debug and _all_finite(env[a] for a in inst.args)
            try:
                planned = {}  # where the kernel writes: its result's buffer, its work array
                if inst.buffer is not None:
                    planned["out"] = buffers[inst.view]
                if inst.scratch is not None:
                    planned["scratch"] = buffers[inst.scratch]
                # read-only views of the inputs: a user's kernel that writes into its input
                # would change the caller's fed array, or a value other ops still read; the
                # first run (this loop) stops it, and says so. Later runs skip this, for speed
                result = inst.kernel(*[_read_only(env[a]) for a in inst.args], **planned)
            except SymgraphError:
                raise
            except Exception as e:
                raise _kernel_error(inst, env, e, self.names) from e
            _check_kernel_result(inst, result, planned.get("out"))  # on first runs and debug runs
            if debug:
                _check_finite(inst, env, result, self.names, inputs_finite)
            env[inst.out] = result
            for slot in inst.free:
                env[slot] = None
        fetched = [None if s in self.update_slots else env[s] for s in self.fetches]
        updates = [(var, env[slot]) for var, slot in self.updates]
        return fetched, updates

    # -- reading --------------------------------------------------------------------
    def __str__(self):
        lines = [
            f"Program: {len(self.instructions)} instructions, {len(self.feeds)} feeds, "
            f"{len(self.variables)} variables, {len(self.constants)} constants"
        ]
        for slot, node in self.feeds:
            shape = self.feed_shapes.get(slot, node.shape)
            lines.append(_row(f"%{slot} = feed", f"{shape_str(shape)} {node.dtype.name}", node.name))
        for slot, var in self.variables:
            lines.append(_row(f"%{slot} = variable", _type(var), var.name))
        for slot, value in self.constants:
            lines.append(_row(f"%{slot} = constant {_short(value)}", _type_of_value(value)))
        lines.extend(inst.listing() for inst in self.instructions)
        lines.append("fetch " + ", ".join(f"%{s}" for s in self.fetches))
        if self.updates:
            lines.append(
                "update " + ", ".join(f"{codegen.one_line(var.name)} <- %{slot}" for var, slot in self.updates)
            )
        return "\n".join(lines)

    def stats(self) -> dict:
        """Figures: instructions, vertices and ops by kind, estimated FLOPs, and memory:
        peak bytes of intermediates alive at once as planned, bytes if none were
        ever freed, and bytes of the reused buffers."""
        figures = {"instructions": len(self.instructions)}
        figures.update(program_stats(self))
        if self.memory is not None:
            figures.update(
                peak_bytes=self.memory.peak_bytes,
                naive_bytes=self.memory.naive_bytes,
                buffer_bytes=self.memory.buffer_bytes,
                buffers=len(self.memory.buffers),
            )
        return figures

    def __repr__(self):
        return f"<Program: {len(self.instructions)} instructions>"


def _parts_in_place(*parts, out):
    """The kernel of a concat whose parts were computed straight into their places in
    `out` (memory.py, _gathers_in_place): there is nothing left to copy."""
    return out


def _row(head: str, type_: str, name: str = "") -> str:
    """One listing line. Feeds, Variables, Constants and instructions share these
    columns, so shapes and names line up down the whole listing. A name is escaped
    (codegen.one_line): one with a newline in it would otherwise add a line."""
    return f"{head:<34} {type_:<24} {codegen.one_line(name)}".rstrip()


def _type(node) -> str:
    return f"{shape_str(node.shape)} {node.dtype.name}"


def _type_of_value(value) -> str:
    a = np.asarray(value)
    return f"{shape_str(a.shape)} {a.dtype.name}"


def _short(value) -> str:
    a = np.asarray(value)
    text = np.array2string(a, threshold=4, precision=4) if a.ndim else repr(a.item())
    text = " ".join(text.split())
    return text if len(text) <= 20 else text[:17] + "..."


def _describe_inputs(inst, env, names) -> str:
    """Each input as its slot, the name of the Node that made it, its shape and dtype."""
    parts = []
    for a in inst.args:
        v = env[a]
        name = codegen.one_line(names.get(a, "?"))
        parts.append(f"%{a} {name} {shape_str(np.shape(v))} {getattr(v, 'dtype', type(v).__name__)}")
    return ", ".join(parts) or "none"


def _kernel_error(inst, env, e, names) -> RunError:
    what = inst.op.name
    hint = _kernel_hint(inst, e)
    if what == "fused":  # one kernel for several ops: say which, and how to see them apart
        args = [f"%{a}" for a in inst.args]
        what = f"fused {inst.attrs['formula'].format(*args)}"
        hint += "; to see which of its ops failed, run with sg.Session(disable='fuse')"
    return RunError(
        f"{what} failed while running: {type(e).__name__}: {e}\n"
        f"  inputs: {_describe_inputs(inst, env, names)}",
        node=inst.node,
        hint=hint + "; no variable was changed",
    )


def _kernel_hint(inst, e) -> str:
    """What to look at when a kernel raised: a built-in op fails on the values it is
    given, a user's op may as well fail on a mistake in its own forward."""
    if isinstance(e, ValueError) and "read-only" in str(e):  # Variables and Constants are
        return (  # kept read-only, so a kernel that writes into its input is caught here
            "a kernel must not modify its inputs; copy first (np.array(x)), or declare "
            "writes_out and writes_over to be handed an input's memory as out="
        )
    ops = [step[0] for step in inst.attrs["steps"]] if inst.op.name == "fused" else [inst.op]
    users = [type(op).__name__ for op in ops if not type(op).__module__.startswith("symgraph.")]
    if users:
        return f"check {', '.join(dict.fromkeys(f'{u}.forward' for u in users))}, and the values fed for this run"
    return "check the values fed for this run"


def _check_kernel_result(inst, result, out=None) -> None:
    """A kernel's result has the shape and dtype its op's shape rule said (`infer`),
    and is the buffer `out` it was given, if any, which the memory plan and every op
    after it rely on: a user's op that breaks this is named here, on its first run,
    not at the op downstream that trips over it."""
    if inst.op.is_update:
        return  # an update answers with the new value; its Node stands for the update
    if out is not None:
        check_wrote_into_out(inst.op, result, out, node=inst.node)
    # a list, None, ...: not a value. A Python number is taken, as NumPy's type of it
    if not isinstance(result, np.ndarray | np.generic | int | float | complex):
        raise RunError(
            f"the kernel of {inst.op.name} returned {type(result).__name__}; return a NumPy array",
            node=inst.node,
            hint=f"in {type(inst.op).__name__}.forward, return np.asarray(result, dtype) with the "
            "dtype infer says; no variable was changed",
        )
    shape, dtype = np.shape(result), np.result_type(result)
    if not shapes_agree(inst.shape, shape) or dtype != inst.dtype:
        raise RunError(
            f"the kernel of {inst.op.name} returned {shape_str(shape)} {dtype}, but its shape "
            f"rule (infer) said {shape_str(inst.shape)} {inst.dtype}",
            node=inst.node,
            hint=f"make {type(inst.op).__name__}.forward and .infer agree; no variable was changed",
        )


def _read_only(value):
    """A view of an array that cannot be written through (other values as they are)."""
    if not isinstance(value, np.ndarray) or not value.flags.writeable:
        return value
    view = value.view()
    view.flags.writeable = False
    return view


def _all_finite(values) -> bool:
    """No NaN or Inf in any float array among `values` (anything else counts as finite)."""
    return all(
        not (isinstance(v, np.ndarray | np.generic) and v.dtype.kind in "fc") or np.all(np.isfinite(v))
        for v in values
    )


def _check_given_finite(value, what, node=None, hint=None) -> None:
    """Debug mode: a NaN or Inf in a fed value, a Variable or a Constant is that value's,
    not an op's. `what` says which value it is."""
    value = np.asarray(value)
    if _all_finite([value]):
        return
    bad = "NaN" if np.isnan(value).any() else "Inf"
    raise NumericError(
        f"{bad} in {what}, before any op ran",
        node=node,
        hint=(hint or "check the data fed (np.isfinite), or, for a Variable, the checkpoint "
              "or the step that made it so") + "; no variable was changed",
    )


def _check_finite(inst, env, result, names, inputs_finite) -> None:
    if not isinstance(result, np.ndarray | np.generic) or result.dtype.kind not in "fc":
        return
    if np.all(np.isfinite(result)):
        return
    bad = "NaN" if np.isnan(result).any() else "Inf"
    cause = (
        "its inputs were all finite, so this op made it"
        if inputs_finite
        else "an input was already not finite"
    )
    raise NumericError(
        f"{bad} appeared in the result of {inst.op.name} ({cause})\n"
        f"  inputs: {_describe_inputs(inst, env, names)}",
        node=inst.node,
        hint="look for log or sqrt of values <= 0, division by zero, or a learning rate "
        "too large; no variable was changed",
    )
