"""The memory plan's allocator: arenas, each a flat buffer shared by many values.

memory.py walks the Program and asks for a region when a value is made and gives
it back when the value dies; this file decides where each region goes. It is the
part of the plan that knows nothing about instructions: sizes and offsets only.
"""

from __future__ import annotations

import bisect

import numpy as np

#: every region starts on a 64-byte boundary (a cache line, and what SIMD loads like best)
ALIGN_BYTES = 64
#: values smaller than this share an arena of their own (see Buffers.take)
SMALL_BYTES = 16 * 1024


class Arena:
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


class Buffers:
    """The planned buffers: two arenas (see Arena) per dtype for the values of the
    run, one for values under SMALL_BYTES and one for the rest, and a buffer of its
    own for each new Variable value, and for a gradient one is written over (see
    plan_memory).

    A value's place is a *region*: (buffer, offset, elements). `take` hands out a
    region's id; `give_back` returns it when nothing can see into it any more.
    """

    def __init__(self):
        self.sizes: list[int] = []  # buffer id -> its size in elements (an arena's grows)
        self.dtypes: list[np.dtype] = []  # buffer id -> its dtype
        self.arena_buffer: dict[tuple, int] = {}  # (dtype, small) -> the buffer id of that arena
        self.arena_of: dict[int, Arena] = {}  # buffer id -> its arena, for an arena's buffer
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
                self.arena_of[self.arena_buffer[key]] = Arena(dtype.itemsize)
            buffer = self.arena_buffer[key]
            arena = self.arena_of[buffer]
            offset = arena.take(n)
            self.sizes[buffer] = arena.size
        self.regions.append((buffer, offset, n))
        return len(self.regions) - 1

    def is_own(self, region: int) -> bool:
        """True if `region` is a whole buffer of its own (take(..., own=True))."""
        return self.regions[region][0] not in self.arena_of

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
