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

A result can also be written right over an input that dies at its instruction
(`_in_place_input`): an elementwise kernel reads each element before it writes
the same element, so a chain like tanh(x @ W + b) and its gradient needs one
place, not one per step. A concatenation of such results, each computed from
its own slice of one array, can sit where that array was (`_landing`).

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
    viewers: dict[int, set] = {}  # region id -> the live values that may point into it
    # slot -> (region, first, end) for a value that is exactly those elements of a region,
    # in C order: what a region's value, or a reshape or a row slice of one, sees
    spans: dict[int, tuple[int, int, int]] = {}
    readers = _readers(program)  # slot -> how many instructions read it
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
    gather_start: dict[int, int] = {}  # gather slot -> where in its region it starts
    producer = {inst.out: inst for inst in program.instructions}

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
        spans[inst.out] = (region, offset, offset + _elements(inst.shape))

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
                landing = _landing(g, producer, spans, viewers, readers, types)
                if landing is None:
                    landing = buffers.take(_elements(g.shape), g.dtype), 0
                region_of_gather[gather], gather_start[gather] = landing
                arrives = _nbytes(g.shape, g.dtype)  # counted once, here, for all the parts
                produced_at[gather] = pos
            else:
                arrives = 0
            holds = 0  # the gather's region holds it
            place(inst, region_of_gather[gather], gather_start[gather] + offset)
        elif inst.out in gathers:  # its parts are already in place: nothing to copy
            inst.in_place = True
            arrives = 0  # counted when its first part was made
            place(inst, region_of_gather[inst.out], gather_start[inst.out])
        elif (
            inst.op.writes_out
            and _known(shape)
            and dtype != np.dtype(object)
        ):
            over = None if inst.out in committed else _in_place_input(inst, spans, viewers, types, committed)
            if over is None:
                place(inst, buffers.take(_elements(shape), dtype, own=inst.out in committed))
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
            span = _view_span(inst, spans, types)
            if span is not None:
                spans[inst.out] = span
        for r in storage[inst.out]:
            viewers.setdefault(r, set()).add(inst.out)

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
                viewers[r].discard(slot)
                if not viewers[r]:
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


def _readers(program) -> dict:
    """slot -> how many instructions read it."""
    count: dict[int, int] = {}
    for inst in program.instructions:
        for a in set(inst.args):
            count[a] = count.get(a, 0) + 1
    return count


def _view_span(inst, spans, types):
    """The elements a reshape, or a slice of whole rows, of a value with a span sees;
    None for any other view (it is then only known to see its input's regions)."""
    if not inst.args or inst.args[0] not in spans or not _known(inst.shape):
        return None
    region, first, end = spans[inst.args[0]]
    if inst.op.name == "reshape":
        return (region, first, end) if _elements(inst.shape) == end - first else None
    if inst.op.name != "getitem":
        return None
    shape = types[inst.args[0]][0]
    index = inst.attrs["index"]
    whole = ("slice", None, None, None)
    if not shape or not index or any(item != whole for item in index[1:]):
        return None
    rows, row = shape[0], math.prod(shape[1:])  # a C-ordered value: its rows are runs
    item = index[0]
    if isinstance(item, int):
        i = item + rows if item < 0 else item
        start, stop = i, i + 1
    elif isinstance(item, tuple) and item[3] in (None, 1):
        start, stop, _ = slice(*item[1:]).indices(rows)
    else:
        return None
    return region, first + start * row, first + max(start, stop) * row


def _landing(gather, producer, spans, viewers, readers, types):
    """(region, start) where a gather's parts can each be computed over the value it is
    computed from, or None.

    The gradient of an RNN's stacked states comes in per-step slices of one array,
    and each step's gradient term is an elementwise function of its slice:
    g_t = (dh[t] + ...) * (1 - h_t**2). When merge_matmuls joins the g's in the order
    of the slices, each g_t can be written over dh[t], which nothing reads after it:
    the concatenation then sits where dh was, and costs no memory of its own.

    That holds when every part's instruction is elementwise, reads a value that is
    exactly the elements where the part would go (the parts' inputs lie end to end
    in one region, in the gather's order), reads it as its only reader, and can
    safely write its result over it (_over_input); and when nothing else can see into
    that region.
    """
    region = start = None
    overwritten = set()
    aliases = []  # (part's instruction, index of the input it is written over)
    offset = 0
    for part in gather.args:
        inst = producer[part]
        alias = _over_input(inst, spans, readers, types)
        if alias is None:
            return None
        r, first, _ = spans[alias]
        if region is None:
            region, start = r, first - offset
        if r != region or first != start + offset:
            return None
        overwritten.add(alias)
        aliases.append((inst, inst.args.index(alias)))
        offset += _elements(inst.shape)
    if start < 0 or not viewers.get(region, set()) <= overwritten:
        return None
    for inst, i in aliases:  # a fused part that writes its output early: see _last_step_writes
        if inst.op.name == "fused" and not _safe_over(inst, i, as_is=True):
            steps, registers = _last_step_writes(inst.attrs["steps"], inst.attrs["registers"])
            inst.attrs = {**inst.attrs, "steps": steps, "registers": registers}
    return region, start


def _over_input(inst, spans, readers, types):
    """An input this instruction can write its result over, or None: one with a span,
    of exactly the result's shape and dtype, read by this instruction only, and which
    the kernel has finished reading when it writes each element of its result (for a
    fused kernel, once its steps keep register 0 for the last: see _last_step_writes)."""
    op = inst.op
    if not (op.writes_out and op.elementwise and _known(inst.shape)):
        return None
    for i, a in enumerate(inst.args):
        if (
            a in spans
            and readers.get(a) == 1
            and a in inst.free
            and types.get(a) == (inst.shape, inst.dtype)
            and _safe_over(inst, i)
        ):
            return a
    return None


def _in_place_input(inst, spans, viewers, types, committed):
    """An input the instruction can write its result over, or None: one this
    instruction reads for the last time, that nothing else can see into, that is not
    a Variable's new value (the Session stores that after the run), of the result's
    shape and dtype, and that the kernel reads element by element before writing
    there (an elementwise ufunc, a fused kernel whose steps allow it, or an op that
    says so in `writes_over`).

    Not for a value of one element: there is no memory to save, and NumPy's ufuncs
    take a slow path when a one-element output is also an input (1.3 us against
    0.3 us, the reason fuse leaves such values alone too)."""
    if _elements(inst.shape) == 1:
        return None
    for i, a in enumerate(inst.args):
        if (
            a in inst.free
            and a not in committed
            and a in spans
            and types.get(a) == (inst.shape, inst.dtype)
            and viewers.get(spans[a][0]) == {a}
            and (i in inst.op.writes_over or inst.op.elementwise and _safe_over(inst, i, as_is=True))
        ):
            return a
    return None


def _safe_over(inst, i, as_is=False) -> bool:
    """True if the kernel gives the right result when its output is input i's memory.

    One NumPy ufunc is safe: element k of the result depends on element k of the
    inputs only, read before it is written. A fused kernel runs steps, each a ufunc:
    it is safe if no step reads input i after a step has written register 0 (the
    output), which holds once only its last step writes register 0."""
    if inst.op.name != "fused":
        return isinstance(inst.op.kernel(**inst.attrs), np.ufunc)
    steps = inst.attrs["steps"]
    if not as_is:  # the steps as _landing would change them
        steps, _ = _last_step_writes(steps, inst.attrs["registers"])
    written = False
    for op, args, attrs, target in steps:
        reads = ("in", i) in args
        if reads and (written or target == 0 and not isinstance(op.kernel(**dict(attrs)), np.ufunc)):
            return False
        written = written or target == 0
    return True


def _last_step_writes(steps, registers):
    """A fused kernel's steps, changed so that only the last writes register 0 (the
    output), and its count of registers: the others work in a new register instead.
    Unchanged if that is so already.

    The fuse pass computes a chain like (1 - h*h) * g in the output itself, which is
    what saves memory; written over its input g, though, it would overwrite g with
    h*h before reading it. One register more (a temporary of the output's size)
    keeps g intact until the last step reads it.
    """
    if all(target != 0 for _, _, _, target in steps[:-1]):
        return steps, registers
    new = registers  # the new register's number

    def moved(r):
        return new if r == 0 else r

    changed = [
        (op, tuple((kind, moved(r) if kind == "reg" else r) for kind, r in args), attrs, moved(target))
        for op, args, attrs, target in steps[:-1]
    ]
    op, args, attrs, target = steps[-1]
    changed.append((op, tuple((kind, moved(r) if kind == "reg" else r) for kind, r in args), attrs, 0))
    return tuple(changed), registers + 1


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
