"""The memory plan: which buffer each instruction writes into, reused along the schedule.

NumPy allocates a fresh array for every result, and for arrays of a few
hundred kilobytes that allocation (and the page faults of touching new
memory) can cost as much as the arithmetic. A compiled Program knows every
shape in advance, so it can do better: give each result a buffer, and hand a
buffer to a later instruction as soon as nothing reads its value any more.
The buffers are made once, on the first run, and reused on every run after.

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

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MemoryPlan:
    buffers: list[tuple[tuple, np.dtype]] = field(default_factory=list)  # (shape, dtype) each
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
    """Assign `inst.buffer` for each instruction (or None) and measure the plan."""
    plan = MemoryPlan()
    free_pool: dict[tuple, list[int]] = {}  # (shape, dtype) -> buffer ids ready for reuse
    storage: dict[int, tuple[int, ...]] = {}  # slot -> buffer ids its value may point into
    users: dict[int, int] = {}  # buffer id -> live values that may point into it
    produced_at: dict[int, int] = {}
    live_bytes = 0
    sizes: dict[int, int] = {}  # slot -> bytes, for values still alive

    for pos, inst in enumerate(program.instructions):
        shape, dtype = inst.shape, inst.dtype
        inst.buffer = None
        if (
            inst.op.writes_out
            and _known(shape)
            and dtype != np.dtype(object)
        ):
            key = (tuple(shape), np.dtype(dtype))
            pool = free_pool.get(key)
            if pool:
                inst.buffer = pool.pop()
            else:
                inst.buffer = len(plan.buffers)
                plan.buffers.append(key)
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

        # bytes: a view costs nothing new; everything else holds its own bytes
        size = _nbytes(shape, dtype) if _known(shape) and not _is_view(inst) else 0
        sizes[inst.out] = size
        produced_at[inst.out] = pos
        live_bytes += size
        plan.naive_bytes += size
        plan.peak_bytes = max(plan.peak_bytes, live_bytes)

        for slot in inst.free:  # values read for the last time by this instruction
            size_freed = sizes.pop(slot, 0)
            live_bytes -= size_freed
            if size_freed:
                plan.intervals.append((produced_at[slot], pos, size_freed, _name(program, slot)))
            for b in storage.pop(slot, ()):
                users[b] -= 1
                if users[b] == 0:
                    free_pool.setdefault(plan.buffers[b], []).append(b)
    end = len(program.instructions)
    for slot, size in sizes.items():  # alive to the end: fetched values and new Variable values
        if size:
            plan.intervals.append((produced_at[slot], end, size, _name(program, slot)))
    plan.intervals.sort()
    return plan


def _is_view(inst) -> bool:
    """A result that only points into its inputs' memory (no buffer, not fresh) costs no bytes."""
    return inst.buffer is None and not inst.op.fresh_output and inst.op.name in VIEW_OPS


#: ops whose result is (usually) a view of their first input: no new memory
VIEW_OPS = {"reshape", "transpose", "getitem", "squeeze", "expand_dims", "broadcast_to"}


def _name(program, slot) -> str:
    return program.names.get(slot, f"%{slot}")
