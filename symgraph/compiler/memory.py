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
plan_memory.)

Only ops that can write into a given array (`writes_out = True`) get a region.
A value that may be a *view* of a region (reshape, transpose, slicing: they
return views, not copies) keeps that region alive, so a region is reused
only when no live value can still see into it. Values that leave the run
(fetches, new Variable values) may sit in buffers: the Session copies them
out before the next run can overwrite them.

A kernel that needs a work array besides its result (`Op.workspace`) gets a
region too, taken when the instruction runs and given back when it ends, and
is handed it as `scratch=`: the listing shows it as `work buf0[...]`.

The plan also counts bytes: `peak_bytes` is the most memory the run's
intermediate values occupy at once, against `naive_bytes`, the total if no
value were ever freed.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from symgraph.ops.base import Op


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


def _known(shape) -> bool:
    return all(d is not None for d in shape)


def plan_memory(program) -> MemoryPlan:
    """Assign each instruction its buffer and view (`inst.buffer`, `inst.view`, or
    None) and measure the plan.

    Walking the schedule, each result takes a region of its dtype's arena (the
    smallest free region it fits in, see _Arena), seen in its own shape
    (`Program` makes those views), and gives it back when it dies. So the
    arena serves values of any shapes over the run: a (1024, 64) softmax
    gradient can reuse part of the memory of a (1024, 128) concatenation that
    died before it.

    One exception: a value that leaves the run as a Variable's new value gets a
    buffer of its own, exactly its size, because the Session hands that whole
    buffer to the Variable and gives the Program the Variable's old array in
    exchange (see `Program.swap_buffer`).
    """
    plan = MemoryPlan()
    buffers = _Buffers()
    storage: dict[int, tuple[int, ...]] = {}  # slot -> the regions its value may point into
    users: dict[int, int] = {}  # region id -> live values that may point into it
    produced_at: dict[int, int] = {}
    live_bytes = 0
    sizes: dict[int, int] = {}  # slot -> bytes, for values still alive
    # the values Variables are given: an update instruction (assign) reads the new value
    # as its last argument and passes it on
    update_slots = {slot for _, slot in program.updates}
    committed = {inst.args[-1] for inst in program.instructions if inst.out in update_slots}
    view_index: dict[tuple, int] = {}  # (buffer, offset, shape, dtype) -> its index in plan.views
    placed, gathers = _gathers_in_place(program, committed)
    region_of_gather: dict[int, int] = {}  # gather slot -> its region, once its first part is made

    types = _leaf_types(program)  # slot -> (shape, dtype), for the ops that ask for a workspace

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

    for pos, inst in enumerate(program.instructions):
        shape, dtype = inst.shape, inst.dtype
        types[inst.out] = (shape, dtype)
        inst.buffer = inst.view = inst.span = inst.scratch = inst.scratch_span = None
        inst.in_place = False
        # bytes: a view costs nothing new; everything else holds its own bytes
        holds = _nbytes(shape, dtype) if _known(shape) and not _is_view_op(inst) else 0
        arrives = holds  # the bytes that become live now (a gather's count at its first part)
        if inst.out in placed:  # a part of a gather: written straight into its place
            gather, offset = placed[inst.out]
            if gather not in region_of_gather:  # the first part made: the whole region now
                g = gathers[gather]
                region_of_gather[gather] = buffers.take(_elements(g.shape), g.dtype)
                arrives = _nbytes(g.shape, g.dtype)  # counted once, here, for all the parts
                produced_at[gather] = pos
            else:
                arrives = 0
            holds = 0  # the gather's region holds it
            place(inst, region_of_gather[gather], offset)
        elif inst.out in gathers:  # its parts are already in place: nothing to copy
            inst.in_place = True
            arrives = 0  # counted when its first part was made
            place(inst, region_of_gather[inst.out])
        elif (
            inst.op.writes_out
            and _known(shape)
            and dtype != np.dtype(object)
        ):
            place(inst, buffers.take(_elements(shape), dtype, own=inst.out in committed))
        elif inst.op.fresh_output:
            storage[inst.out] = ()  # a new array of its own: it pins no region
        else:
            # It may return a view of an input (reshape, transpose, ...), so it may
            # see into every region its inputs see into.
            seen = dict.fromkeys(r for a in inst.args for r in storage.get(a, ()))
            storage[inst.out] = tuple(seen)  # each region once, in a fixed order
        for r in storage[inst.out]:
            users[r] = users.get(r, 0) + 1

        sizes[inst.out] = holds  # released when the value dies
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
            size_freed = sizes.pop(slot, 0)
            live_bytes -= size_freed
            if size_freed:
                plan.intervals.append((produced_at[slot], pos, size_freed, _name(program, slot)))
            for r in storage.pop(slot, ()):
                users[r] -= 1
                if users[r] == 0:
                    buffers.give_back(r)
    end = len(program.instructions)
    for slot, size in sizes.items():  # alive to the end: fetched values and new Variable values
        if size:
            plan.intervals.append((produced_at[slot], end, size, _name(program, slot)))
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
    if any(t is None or not _known(t[0]) for t in inputs):
        return None
    work = inst.op.workspace(*[_Type(*t) for t in inputs], **inst.attrs)
    if work is None or not _known(work[0]) or _elements(work[0]) == 0:
        return None
    return tuple(work[0]), np.dtype(work[1])


def _gathers_in_place(program, committed):
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
    producer = {inst.out: inst for inst in program.instructions}
    placed: dict[int, tuple[int, int]] = {}
    gathers: dict[int, object] = {}
    for inst in program.instructions:
        if (
            inst.op.name not in ("concat", "stack")
            or inst.attrs.get("axis") != 0
            or not _known(inst.shape)
            or inst.dtype == np.dtype(object)
            or len(set(inst.args)) != len(inst.args)
        ):
            continue
        parts = [producer.get(a) for a in inst.args]
        if not all(
            p is not None
            and p.op.writes_out
            and _known(p.shape)
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


#: every region starts on a 64-byte boundary (a cache line, and what SIMD loads like best)
ALIGN_BYTES = 64
#: values smaller than this share an arena of their own (see _Buffers.take)
SMALL_BYTES = 16 * 1024


class _Arena:
    """One flat block of memory shared by many values, each in a region at an offset.

    Planning replays the run: a value takes a region when it is made and gives it
    back when it dies, and a region given back joins its free neighbours, so two
    small dead regions side by side can hold one bigger value later. A value takes
    the smallest free region it fits in (best fit), and only the rest of that region
    stays free; when nothing fits, the arena grows at its end. The arena's final
    size is the memory the run needs: little more than the peak of live values.

    Sizes and offsets are counted in elements of one dtype. The free regions are
    kept twice, sorted by offset (to find neighbours) and by size (to find the
    best fit), both by bisection: planning stays fast for a hundred thousand
    instructions.
    """

    def __init__(self, itemsize: int):
        self.align = max(1, ALIGN_BYTES // itemsize)  # in elements
        self.size = 0  # the end of the last region ever used: the arena's size
        self.starts: list[int] = []  # the free regions' offsets, sorted
        self.length: dict[int, int] = {}  # a free region's offset -> its length
        self.by_size: list[tuple[int, int]] = []  # the free regions as (length, offset), sorted

    def rounded(self, n: int) -> int:
        return -(-n // self.align) * self.align

    def take(self, n: int) -> int:
        """The offset of a new region of n elements (rounded up to the alignment)."""
        n = self.rounded(n)
        if n == 0:
            return 0
        at = bisect.bisect_left(self.by_size, (n, -1))  # the smallest free region that fits
        if at < len(self.by_size):
            length, offset = self.by_size[at]
            self._remove(offset)
            if length > n:
                self._add(offset + n, length - n)  # the rest stays free
            return offset
        if self.starts and self.starts[-1] + self.length[self.starts[-1]] == self.size:
            offset = self.starts[-1]  # a free region at the end: grow the arena from there
            self._remove(offset)
        else:
            offset = self.size
        self.size = offset + n
        return offset

    def give_back(self, offset: int, n: int) -> None:
        """The region of n elements at `offset` is free again; it joins free neighbours."""
        n = self.rounded(n)
        if n == 0:
            return
        after = offset + n
        if after in self.length:  # the region just after is free: join it
            n += self.length[after]
            self._remove(after)
        i = bisect.bisect_left(self.starts, offset)
        if i > 0:
            before = self.starts[i - 1]
            if before + self.length[before] == offset:  # the region just before is free: join it
                n += self.length[before]
                offset = before
                self._remove(before)
        self._add(offset, n)

    def _add(self, offset: int, n: int) -> None:
        bisect.insort(self.starts, offset)
        self.length[offset] = n
        bisect.insort(self.by_size, (n, offset))

    def _remove(self, offset: int) -> None:
        n = self.length.pop(offset)
        del self.starts[bisect.bisect_left(self.starts, offset)]
        del self.by_size[bisect.bisect_left(self.by_size, (n, offset))]


class _Buffers:
    """The planned buffers: two arenas (see _Arena) per dtype for the values of the
    run, one for values under SMALL_BYTES and one for the rest, and a buffer of its
    own for each new Variable value (see plan_memory).

    A value's place is a *region*: (buffer, offset, elements). `take` hands out a
    region's id; `give_back` returns it when nothing can see into it any more.
    """

    def __init__(self):
        self.sizes: list[int] = []  # buffer id -> its size in elements (an arena's grows)
        self.dtypes: list[np.dtype] = []  # buffer id -> its dtype
        self.arena_buffer: dict[tuple, int] = {}  # (dtype, small) -> the buffer id of that arena
        self.arena_of: dict[int, _Arena] = {}  # buffer id -> its arena, for an arena's buffer
        self.regions: list[tuple[int, int, int]] = []  # region id -> (buffer, offset, elements)
        self.spare: dict[tuple, list[int]] = {}  # (elements, dtype) -> own buffers free again

    def take(self, n: int, dtype, own: bool = False) -> int:
        """A region for a value of n elements; with `own`, a whole buffer of exactly n."""
        dtype = np.dtype(dtype)
        if own:
            spare = self.spare.get((n, dtype))
            buffer = spare.pop() if spare else self._new_buffer(n, dtype)
            offset = 0
        else:
            # small values have an arena of their own: placed in a hole left by a big
            # value, a small long-lived one would split it, and the next big value
            # would no longer fit there (the arena would grow instead)
            key = (dtype, n * dtype.itemsize < SMALL_BYTES)
            if key not in self.arena_buffer:
                self.arena_buffer[key] = self._new_buffer(0, dtype)
                self.arena_of[self.arena_buffer[key]] = _Arena(dtype.itemsize)
            buffer = self.arena_buffer[key]
            arena = self.arena_of[buffer]
            offset = arena.take(n)
            self.sizes[buffer] = arena.size
        self.regions.append((buffer, offset, n))
        return len(self.regions) - 1

    def give_back(self, region: int) -> None:
        """Nothing can see into `region` any more: its memory is free for the next value."""
        buffer, offset, n = self.regions[region]
        arena = self.arena_of.get(buffer)
        if arena is not None:
            arena.give_back(offset, n)
        else:
            self.spare.setdefault((n, self.dtypes[buffer]), []).append(buffer)

    def _new_buffer(self, n: int, dtype) -> int:
        self.sizes.append(n)
        self.dtypes.append(dtype)
        return len(self.sizes) - 1


def _is_view_op(inst) -> bool:
    """A result that only points into its inputs' memory costs no bytes: an op that
    returns a view (not a fresh array) and is given no buffer to write into."""
    return not inst.op.writes_out and not inst.op.fresh_output and inst.op.name in VIEW_OPS


#: ops whose result is (usually) a view of their first input: no new memory
VIEW_OPS = {"reshape", "transpose", "getitem", "squeeze", "expand_dims", "broadcast_to"}


def _name(program, slot) -> str:
    return program.names.get(slot, f"%{slot}")
