"""The memory plan: where in memory each instruction writes, reused along the schedule.

NumPy allocates a fresh array for every result, and for arrays of a few
hundred kilobytes that allocation (and the page faults of touching new
memory) can cost as much as the arithmetic. A compiled Program knows every
shape in advance, so it can do better: give each result a place in a buffer,
and hand that place to a later instruction as soon as nothing reads its value
any more. The buffers are made once and reused on every run after.

The way a C compiler lays out a function's stack frame, or TensorFlow Lite its
tensors: a flat buffer (an *arena*) per dtype, and each result a *region* of
it, at an offset, seen in its own shape (a view, `plan.views`). Regions that
die free their memory for later ones, and free neighbours join, so a (1024,
128) region can later hold a (1024, 64) value and a (1024, 32) one side by
side. (Small values get a second arena, so that they do not break up the
holes big values need; a new Variable value gets a buffer of its own, see
plan_memory, which it shares with its gradient when it can, see _gives_way. The
arenas themselves are in arena.py.)

Only ops that can write into a given array (`writes_out = True`) get a region.
A value that may be a *view* of a region (reshape, transpose, slicing: they
return views, not copies) keeps that region alive, so a region is reused
only when no live value can still see into it. Values that leave the run
(fetches, new Variable values) may sit in buffers: the Session copies them
out before the next run can overwrite them.

A result can also be written right over an input that dies at its instruction
(in_place.py, `in_place_input`): an elementwise kernel reads each element before it writes
the same element, so a chain like tanh(x @ W + b) and its gradient needs one
place, not one per step. A concatenation of such results, each computed from
its own slice of one array, can sit where that array was (`landing`).

A kernel that needs a work array besides its result (`Op.workspace`) gets a
region too, taken when the instruction runs and given back when it ends, and
is handed it as `scratch=`: the listing shows it as `work buf0[...]`.

The plan also counts bytes: `peak_bytes` is the most memory the run's
intermediate values occupy at once, against `naive_bytes`, the total if no
value were ever freed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from symgraph.compiler.arena import Buffers
from symgraph.compiler.in_place import (
    can_write_over,
    in_place_input,
    landing,
    reader_counts,
    view_span,
)
from symgraph.ops.base import Op, is_known


@dataclass
class MemoryPlan:
    buffers: list[tuple[tuple, np.dtype]] = field(default_factory=list)  # ((elements,), dtype) each
    views: list[tuple[int, int, tuple, np.dtype]] = field(default_factory=list)  # (buffer, offset, shape, dtype)
    peak_bytes: int = 0  # the most bytes of intermediates alive at once
    naive_bytes: int = 0  # bytes if every intermediate were kept to the end
    intervals: list[tuple[int, int, int, str]] = field(default_factory=list)  # (start, end, bytes, name)

    @property
    def buffer_bytes(self) -> int:
        return sum(_nbytes(shape, dtype) for shape, dtype in self.buffers)


def _nbytes(shape, dtype) -> int:
    return _elements(shape) * np.dtype(dtype).itemsize


def plan_memory(program) -> MemoryPlan:
    """Assign each instruction its buffer and view (`inst.buffer`, `inst.view`, or
    None) and measure the plan.

    Walking the schedule, each result takes a region of its dtype's arena (the
    smallest free region it fits in, see arena.py), seen in its own shape
    (`Program` makes those views), and gives it back when it dies. So the
    arena serves values of any shapes over the run: a (1024, 64) softmax
    gradient can reuse part of the memory of a (1024, 128) concatenation that
    died before it.

    One exception: a value that leaves the run as a Variable's new value gets a
    buffer of its own, exactly its size, because the Session hands that whole
    buffer to the Variable and gives the Program the Variable's old array in
    exchange (see `Program.swap_buffer`). When it can, the new value shares that
    buffer with the gradient it is computed from (`_gives_way`).
    """
    plan = MemoryPlan()
    buffers = Buffers()
    storage: dict[int, tuple[int, ...]] = {}  # slot -> the regions its value may point into
    viewers: dict[int, set] = {}  # region id -> the live values that may point into it
    # slot -> (region, first, end) for a value that is exactly those elements of a region,
    # in C order: what a region's value, or a reshape or a row slice of one, sees
    spans: dict[int, tuple[int, int, int]] = {}
    reading = reader_counts(program)  # slot -> how many instructions read it
    produced_at: dict[int, int] = {}
    live_bytes = 0
    sizes: dict[int, int] = {}  # slot -> bytes, for values still alive
    # the values Variables are given: an update instruction (assign) reads the new value
    # as its last argument and passes it on
    update_slots = {slot for _, slot in program.updates}
    committed = {inst.args[-1] for inst in program.instructions if inst.out in update_slots}
    view_index: dict[tuple, int] = {}  # (buffer, offset, shape, dtype) -> its index in plan.views
    producer = {inst.out: inst for inst in program.instructions}
    placed, gathers = _gathers_in_place(program, producer, committed)
    # gradient -> the Variable's new value that will be written over it (see _gives_way)
    gives_way = _gives_way(program, producer, committed, reading)
    owner_of = {new: grad for grad, new in gives_way.items()}
    region_of_gather: dict[int, int] = {}  # gather slot -> its region, once its first part is made
    gather_start: dict[int, int] = {}  # gather slot -> where in its region it starts

    types = _leaf_types(program)  # slot -> (shape, dtype): instructions' results are added as made
    # A view's bytes are its base's: slot -> the value it views (through views of views),
    # how many live views each value has, and (start, bytes, name) of dead values that
    # live views still see
    base: dict[int, int] = {}
    views_alive: dict[int, int] = defaultdict(int)
    held: dict[int, tuple] = {}

    def view_of(region, offset, shape, dtype) -> int:
        """The index in plan.views of `region`'s elements from `offset` on, seen in `shape`."""
        buffer, start, _ = buffers.regions[region]
        view = (buffer, start + offset, tuple(shape), np.dtype(dtype))
        index = view_index.setdefault(view, len(plan.views))
        if index == len(plan.views):
            plan.views.append(view)
        return index

    def place(inst, region, offset=0):
        """inst writes into `region`, `offset` elements in: its buffer and its view."""
        buffer, start, _ = buffers.regions[region]
        inst.buffer = buffer
        inst.span = (start + offset, start + offset + _elements(inst.shape))
        inst.view = view_of(region, offset, inst.shape, inst.dtype)
        storage[inst.out] = (region,)
        spans[inst.out] = (region, offset, offset + _elements(inst.shape))

    for pos, inst in enumerate(program.instructions):
        shape, dtype = inst.shape, inst.dtype
        types[inst.out] = (shape, dtype)
        inst.buffer = inst.view = inst.span = inst.scratch = inst.scratch_span = None
        inst.in_place = False
        # bytes: a view costs nothing new, nor does an update (assign passes its new value
        # on, counted as that value); everything else holds its own bytes
        holds = (
            _nbytes(shape, dtype)
            if is_known(shape) and not _is_view_op(inst) and not inst.op.is_update
            else 0
        )
        arrives = holds  # the bytes that become live now (a gather's count at its first part)
        if inst.out in placed:  # a part of a gather: written straight into its place
            gather, offset = placed[inst.out]
            if gather not in region_of_gather:  # the first part made: the whole region now
                g = gathers[gather]
                placed_at = landing(g, producer, spans, viewers, reading, types)
                if placed_at is None:
                    placed_at = buffers.take(_elements(g.shape), g.dtype), 0
                region_of_gather[gather], gather_start[gather] = placed_at
                arrives = _nbytes(g.shape, g.dtype)  # counted once, here, for all the parts
                produced_at[gather] = pos
            else:
                arrives = 0
            holds = 0  # the gather's region holds it
            place(inst, region_of_gather[gather], gather_start[gather] + offset)
            base[inst.out] = gather  # its bytes are the gather's, as a view's are
            views_alive[gather] += 1
        elif inst.out in gathers:  # its parts are already in place: nothing to copy
            inst.in_place = True
            arrives = 0  # counted when its first part was made
            place(inst, region_of_gather[inst.out], gather_start[inst.out])
        elif (
            inst.op.writes_out
            and is_known(shape)
            and dtype != np.dtype(object)
        ):
            if inst.out in committed:  # over its gradient, if that has a buffer of its own
                grad = owner_of.get(inst.out)
                region = spans[grad][0] if grad in spans else None
                alone = region is not None and buffers.is_own(region) and viewers.get(region) == {grad}
                over = grad if alone else None
            elif inst.out in gives_way:
                over = None
            else:
                over = in_place_input(inst, spans, viewers, types, committed)
            if over is None:
                own = inst.out in committed or inst.out in gives_way
                place(inst, buffers.take(_elements(shape), dtype, own=own))
            else:  # written over an input read for the last time: its memory changes hands
                region, first, _ = spans[over]
                place(inst, region, first)
                gone = sizes.get(over, 0)
                if gone:
                    plan.intervals.append((produced_at[over], pos - 1, gone, _name(program, over)))
                    sizes[over] = 0
                    live_bytes -= gone
        elif inst.op.fresh_output:
            storage[inst.out] = ()  # a new array of its own: it pins no region
        else:
            # It may return a view of an input (reshape, transpose, ...), so it may
            # see into every region its inputs see into.
            seen = dict.fromkeys(r for a in inst.args for r in storage.get(a, ()))
            storage[inst.out] = tuple(seen)  # each region once, in a fixed order
            span = view_span(inst, spans, types)
            if span is not None:
                spans[inst.out] = span
        for r in storage[inst.out]:
            viewers.setdefault(r, set()).add(inst.out)

        sizes[inst.out] = holds  # released when the value dies
        if _is_view_op(inst) and inst.args and inst.out not in base:  # views its first input
            viewed = base.get(inst.args[0], inst.args[0])
            base[inst.out] = viewed
            views_alive[viewed] += 1
        produced_at.setdefault(inst.out, pos)  # a gather's life starts at its first part
        live_bytes += arrives
        plan.naive_bytes += holds
        plan.peak_bytes = max(plan.peak_bytes, live_bytes)

        # A work array: taken while the instruction's inputs and result are alive, so it
        # overlaps none of them, and given back as soon as the instruction ends.
        work = _workspace(inst, types)
        if work is not None:
            work_shape, work_dtype = work
            region = buffers.take(_elements(work_shape), work_dtype)
            buffer, start, _ = buffers.regions[region]
            inst.scratch = view_of(region, 0, work_shape, work_dtype)
            inst.scratch_span = (buffer, start, start + _elements(work_shape))
            work_bytes = _nbytes(work_shape, work_dtype)
            plan.peak_bytes = max(plan.peak_bytes, live_bytes + work_bytes)
            plan.naive_bytes += work_bytes
            plan.intervals.append((pos, pos, work_bytes, f"{_name(program, inst.out)} (work array)"))
            buffers.give_back(region)

        for slot in inst.free:  # values read for the last time by this instruction
            if slot in committed:
                continue  # read by its assign, and alive after the run: counted to the end
            size_freed = sizes.pop(slot, 0)
            viewed = base.pop(slot, None)
            if viewed is not None:  # a view dies: the last view of a dead value frees it
                views_alive[viewed] -= 1
                if not views_alive[viewed] and viewed in held:
                    start, size, name = held.pop(viewed)
                    live_bytes -= size
                    plan.intervals.append((start, pos, size, name))
            if size_freed and views_alive.get(slot):
                # a view of it (a transpose, a reshape) is still alive and counts no bytes
                # of its own: the value's bytes stay in use until the last such view dies
                held[slot] = (produced_at[slot], size_freed, _name(program, slot))
            elif size_freed:
                live_bytes -= size_freed
                plan.intervals.append((produced_at[slot], pos, size_freed, _name(program, slot)))
            for r in storage.pop(slot, ()):
                viewers[r].discard(slot)
                if not viewers[r]:
                    buffers.give_back(r)
    end = len(program.instructions)
    for slot, size in sizes.items():  # alive to the end: fetched values and new Variable values
        if size:
            plan.intervals.append((produced_at[slot], end, size, _name(program, slot)))
    for start, size, name in held.values():  # dead values viewed by one alive to the end
        plan.intervals.append((start, end, size, name))
    plan.intervals.sort()
    plan.buffers = [((n,), dtype) for n, dtype in zip(buffers.sizes, buffers.dtypes)]
    return plan


class _Type:
    """What an op's `workspace` is given for each input: a shape and a dtype, as infer gets."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)


def _leaf_types(program) -> dict:
    """slot -> (shape, dtype) of the values that come from outside the run."""
    types = {}
    for slot, node in program.feeds:
        types[slot] = (program.feed_shapes.get(slot, node.shape), node.dtype)
    for slot, var in program.variables:
        types[slot] = (var.shape, var.dtype)
    for slot, value in program.constants:
        value = np.asarray(value)
        types[slot] = (value.shape, value.dtype)
    return types


def _workspace(inst, types):
    """(shape, dtype) of the work array inst's kernel asks for, or None."""
    if type(inst.op).workspace is Op.workspace:  # most ops: no need to look at the inputs
        return None
    inputs = [types.get(a) for a in inst.args]
    if any(t is None or not is_known(t[0]) for t in inputs):
        return None
    work = inst.op.workspace(*[_Type(*t) for t in inputs], **inst.attrs)
    if work is None or not is_known(work[0]) or _elements(work[0]) == 0:
        return None
    return tuple(work[0]), np.dtype(work[1])


def _gives_way(program, producer, committed, reading) -> dict:
    """{gradient: the Variable's new value written over it}, for an update such as
    SGD's W - lr * dW: the gradient is read by that update alone, has the new value's
    shape and dtype, and the update's kernel reads each of its elements before writing
    there (as in_place_input asks).

    A new Variable value needs a buffer of its own, exactly its size: the Session
    hands that whole buffer to the Variable (Program.swap_buffer). So such a gradient
    is given a buffer of its own too, and the new value is written over it: one
    buffer for both instead of two. For W1's (784, 256) weight that is 1.6 MB.
    """
    found = {}
    for inst in program.instructions:
        if inst.out not in committed or not is_known(inst.shape) or _elements(inst.shape) == 1:
            continue
        for i, a in enumerate(inst.args):
            made = producer.get(a)
            if (
                made is not None
                and a not in committed
                and a not in found
                and a in inst.free
                and reading.get(a) == 1
                and made.op.writes_out
                and not _is_view_op(made)
                and (made.shape, made.dtype) == (inst.shape, inst.dtype)
                and can_write_over(inst, i)
            ):
                found[a] = inst.out
                break
    return found


def _gathers_in_place(program, producer, committed):
    """Concatenations (and stacks) along axis 0 whose parts can be computed straight
    into their places in the result, so that joining them copies nothing.

    Joining C-ordered arrays along axis 0 lays them end to end in memory: part i
    starts where the parts before it end. So each part's instruction can write into
    that slice of the result's region, and the concat has nothing left to do. An
    RNN's stacked hidden states and the gradient terms merge_matmuls concatenates
    are made this way. A part qualifies if its instruction writes into a buffer,
    it is not a new Variable value (those need buffers of their own), and it is not
    already a part of another such concat (the first one claims it); otherwise the
    concat copies as usual.

    Returns ({part slot: (gather slot, offset in elements)}, {gather slot: its instruction}).
    """
    placed: dict[int, tuple[int, int]] = {}
    gathers: dict[int, object] = {}
    for inst in program.instructions:
        if (
            inst.op.name not in ("concat", "stack")
            or inst.attrs.get("axis") != 0
            or not is_known(inst.shape)
            or inst.dtype == np.dtype(object)
            or len(set(inst.args)) != len(inst.args)
        ):
            continue
        parts = [producer.get(a) for a in inst.args]
        if not all(
            p is not None
            and p.op.writes_out
            and is_known(p.shape)
            and p.dtype == inst.dtype
            and p.out not in committed
            and p.out not in placed
            and p.out not in gathers
            for p in parts
        ):
            continue
        offset = 0
        for p in parts:
            placed[p.out] = (inst.out, offset)
            offset += _elements(p.shape)
        gathers[inst.out] = inst
    return placed, gathers


def _elements(shape) -> int:
    return math.prod(shape)


def _is_view_op(inst) -> bool:
    """A result that only points into its inputs' memory costs no bytes: an op that
    returns a view (not a fresh array) and is given no buffer to write into."""
    return not inst.op.writes_out and not inst.op.fresh_output and inst.op.returns_view


def _name(program, slot) -> str:
    return program.names.get(slot, f"%{slot}")
