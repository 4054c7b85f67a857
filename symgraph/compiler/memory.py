"""The memory plan: which buffer each instruction writes into, reused along the schedule.

NumPy allocates a fresh array for every result, and for arrays of a few
hundred kilobytes that allocation (and the page faults of touching new
memory) can cost as much as the arithmetic. A compiled Program knows every
shape in advance, so it can do better: give each result a buffer, and hand a
buffer to a later instruction as soon as nothing reads its value any more.
The buffers are made once, on the first run, and reused on every run after.

A buffer is a flat block of memory of one dtype, not an array of one shape:
each result is written into the start of its block, seen in its own shape (a
view, `plan.views`). So a block freed by a (1024, 128) value can take a
(1024, 64) one, and the blocks add up to little more than the peak.

Only ops that can write into a given array (`writes_out = True`) get a buffer.
A value that may be a *view* of a buffer (reshape, transpose, slicing: they
return views, not copies) keeps that buffer alive, so a buffer is recycled
only when no live value can still see into it. Values that leave the run
(fetches, new Variable values) may sit in buffers: the Session copies them
out before the next run can overwrite them.

The plan also counts bytes: `peak_bytes` is the most memory the run's
intermediate values occupy at once, against `naive_bytes`, the total if no
value were ever freed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np


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
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def _known(shape) -> bool:
    return all(d is not None for d in shape)


def plan_memory(program) -> MemoryPlan:
    """Assign `inst.buffer` for each instruction (or None) and measure the plan.

    A buffer is a flat block of one dtype; an instruction writes into the first
    elements of its block, seen in its own shape (`Program` makes those views).
    So one block serves values of any shapes over the run, as long as their
    lives do not overlap: a (1024, 64) softmax gradient can reuse the memory of a
    (1024, 128) concatenation that died before it.

    Which block (greedy, along the schedule): the smallest free block that is big
    enough; else the largest free block, grown to fit; else a new block. One
    exception: a value that leaves the run as a Variable's new value gets a block
    of exactly its size, never grown later, because the Session hands that whole
    block to the Variable and gives the Program the Variable's old array in
    exchange (see `Program.swap_buffer`).
    """
    plan = MemoryPlan()
    blocks = _Blocks()
    storage: dict[int, tuple[int, ...]] = {}  # slot -> buffer ids its value may point into
    users: dict[int, int] = {}  # buffer id -> live values that may point into it
    produced_at: dict[int, int] = {}
    live_bytes = 0
    sizes: dict[int, int] = {}  # slot -> bytes, for values still alive
    # the values Variables are given: an update instruction (assign) reads the new value
    # as its last argument and passes it on
    update_slots = {slot for _, slot in program.updates}
    committed = {inst.args[-1] for inst in program.instructions if inst.out in update_slots}
    view_index: dict[tuple, int] = {}  # (buffer, offset, shape, dtype) -> its index in plan.views
    placed, gathers = _gathers_in_place(program, committed)
    block_of_gather: dict[int, int] = {}  # gather slot -> its block, once its first part is made

    def add_view(inst, offset):
        view = (inst.buffer, offset, tuple(inst.shape), np.dtype(inst.dtype))
        inst.view = view_index.setdefault(view, len(plan.views))
        if inst.view == len(plan.views):
            plan.views.append(view)

    for pos, inst in enumerate(program.instructions):
        shape, dtype = inst.shape, inst.dtype
        inst.buffer = inst.view = None
        inst.in_place = False
        # bytes: a view costs nothing new; everything else holds its own bytes
        holds = _nbytes(shape, dtype) if _known(shape) and not _is_view_op(inst) else 0
        arrives = holds  # the bytes that become live now (a gather's count at its first part)
        if inst.out in placed:  # a part of a gather: written straight into its place
            gather, offset = placed[inst.out]
            if gather not in block_of_gather:  # the first part made: the whole block now
                g = gathers[gather]
                block_of_gather[gather] = blocks.take(_elements(g.shape), g.dtype)
                arrives = _nbytes(g.shape, g.dtype)  # counted once, here, for all the parts
                produced_at[gather] = pos
            else:
                arrives = 0
            holds = 0  # the gather's block holds it
            inst.buffer = block_of_gather[gather]
            add_view(inst, offset)
            storage[inst.out] = (inst.buffer,)
        elif inst.out in gathers:  # its parts are already in place: nothing to copy
            inst.buffer = block_of_gather[inst.out]
            inst.in_place = True
            arrives = 0  # counted when its first part was made
            add_view(inst, 0)
            storage[inst.out] = (inst.buffer,)
        elif (
            inst.op.writes_out
            and _known(shape)
            and dtype != np.dtype(object)
        ):
            inst.buffer = blocks.take(_elements(shape), dtype, exact=inst.out in committed)
            add_view(inst, 0)
            storage[inst.out] = (inst.buffer,)
        elif inst.op.fresh_output:
            storage[inst.out] = ()  # a new array of its own: it pins no buffer
        else:
            # It may return a view of an input (reshape, transpose, ...), so it may
            # see into every buffer its inputs see into.
            seen = dict.fromkeys(b for a in inst.args for b in storage.get(a, ()))
            storage[inst.out] = tuple(seen)  # each buffer once, in a fixed order
        for b in storage[inst.out]:
            users[b] = users.get(b, 0) + 1

        sizes[inst.out] = holds  # released when the value dies
        produced_at.setdefault(inst.out, pos)  # a gather's life starts at its first part
        live_bytes += arrives
        plan.naive_bytes += holds
        plan.peak_bytes = max(plan.peak_bytes, live_bytes)

        for slot in inst.free:  # values read for the last time by this instruction
            size_freed = sizes.pop(slot, 0)
            live_bytes -= size_freed
            if size_freed:
                plan.intervals.append((produced_at[slot], pos, size_freed, _name(program, slot)))
            for b in storage.pop(slot, ()):
                users[b] -= 1
                if users[b] == 0:
                    blocks.give_back(b)
    end = len(program.instructions)
    for slot, size in sizes.items():  # alive to the end: fetched values and new Variable values
        if size:
            plan.intervals.append((produced_at[slot], end, size, _name(program, slot)))
    plan.intervals.sort()
    plan.buffers = [((n,), dtype) for n, dtype in zip(blocks.sizes, blocks.dtypes)]
    return plan


def _gathers_in_place(program, committed):
    """Concatenations (and stacks) along axis 0 whose parts can be computed straight
    into their places in the result, so that joining them copies nothing.

    Joining C-ordered arrays along axis 0 lays them end to end in memory: part i
    starts where the parts before it end. So each part's instruction can write into
    that slice of the result's block, and the concat has nothing left to do. An
    RNN's stacked hidden states and the gradient terms merge_matmuls concatenates
    are made this way. A part qualifies if its instruction writes into a buffer,
    it is not a new Variable value (those need blocks of their own), and it is not
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
    return int(np.prod(shape, dtype=np.int64))


class _Blocks:
    """The planned blocks: each one's size (in elements) and dtype, and the free ones.

    The free blocks of each dtype are kept as a sorted list of (size, id), so the
    smallest block that fits is found by bisection: planning stays fast for
    programs of a hundred thousand instructions.
    """

    def __init__(self):
        self.sizes: list[int] = []  # block id -> its size in elements
        self.dtypes: list[np.dtype] = []  # block id -> its dtype
        self.exact: set[int] = set()  # blocks that must keep their size
        self.free: dict[np.dtype, list[tuple[int, int]]] = {}  # dtype -> sorted (size, id)

    def take(self, n: int, dtype, exact: bool = False) -> int:
        """A block for a value of n elements: the smallest free one that fits; else the
        largest free one that may grow, grown; else a new one. With `exact`, only a
        block of exactly n elements, which then never grows (see plan_memory)."""
        dtype = np.dtype(dtype)
        pool = self.free.setdefault(dtype, [])
        at = bisect.bisect_left(pool, (n, -1))  # the first free block of n elements or more
        if at < len(pool) and (not exact or pool[at][0] == n):
            block = pool.pop(at)[1]
        else:
            block = None if exact else self._largest_growable(pool)
            if block is None:
                block = len(self.sizes)
                self.sizes.append(n)
                self.dtypes.append(dtype)
            self.sizes[block] = n
        if exact:
            self.exact.add(block)
        return block

    def _largest_growable(self, pool):
        """Take the largest free block that may grow (the last such in the sorted pool), or None."""
        for i in range(len(pool) - 1, -1, -1):
            if pool[i][1] not in self.exact:
                return pool.pop(i)[1]
        return None

    def give_back(self, block: int) -> None:
        """Nothing can see into `block` any more: it is free for the next value."""
        bisect.insort(self.free[self.dtypes[block]], (self.sizes[block], block))


def _is_view_op(inst) -> bool:
    """A result that only points into its inputs' memory costs no bytes: an op that
    returns a view (not a fresh array) and is given no buffer to write into."""
    return not inst.op.writes_out and not inst.op.fresh_output and inst.op.name in VIEW_OPS


#: ops whose result is (usually) a view of their first input: no new memory
VIEW_OPS = {"reshape", "transpose", "getitem", "squeeze", "expand_dims", "broadcast_to"}


def _name(program, slot) -> str:
    return program.names.get(slot, f"%{slot}")
