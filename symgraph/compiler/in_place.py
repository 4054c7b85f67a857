"""Where a result can be written over one of its inputs, instead of into new memory.

An elementwise kernel reads each element of its inputs before it writes the same
element of its result. So when an input is read for the last time by the
instruction, and nothing else can see its memory, the result can go right where
the input is: a chain such as tanh(x @ W + b) needs one place, not one per step
(`in_place_input`). A concatenation whose parts are each computed that way from
consecutive slices of one array can sit where that array was (`landing`): the
memory plan uses this for an RNN's gradient terms.

The plan (memory.py) asks these questions as it walks the Program; it knows each
value's *span*, the elements of a region it is exactly (`view_span` follows
reshapes and row slices), and which live values can see into each region.
"""

from __future__ import annotations

import math

import numpy as np

from symgraph.ops.base import is_known


def reader_counts(program) -> dict:
    """slot -> how many instructions read it."""
    count: dict[int, int] = {}
    for inst in program.instructions:
        for a in set(inst.args):
            count[a] = count.get(a, 0) + 1
    return count


def view_span(inst, spans, types):
    """The elements a reshape, or a slice of whole rows, of a value with a span sees;
    None for any other view (it is then only known to see its input's regions)."""
    if not inst.args or inst.args[0] not in spans or not is_known(inst.shape):
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


def landing(gather, producer, spans, viewers, reading, types):
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
    safely write its result over it (over_input); and when nothing else can see into
    that region.
    """
    region = start = None
    overwritten = set()
    aliases = []  # (part's instruction, index of the input it is written over)
    offset = 0
    for part in gather.args:
        inst = producer[part]
        alias = over_input(inst, spans, reading, types)
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
    for inst, i in aliases:  # a fused part that writes its output early: see last_step_writes
        if inst.op.name == "fused" and not safe_over(inst, i, as_is=True):
            steps, registers = last_step_writes(inst.attrs["steps"], inst.attrs["registers"])
            inst.attrs = {**inst.attrs, "steps": steps, "registers": registers}
    return region, start


def over_input(inst, spans, reading, types):
    """An input this instruction can write its result over, or None: one with a span,
    of exactly the result's shape and dtype, read by this instruction only, and which
    the kernel has finished reading when it writes each element of its result (for a
    fused kernel, once its steps keep register 0 for the last: see last_step_writes).

    landing's question, where in_place_input is the plan's for one instruction: here
    the input may share its region with others (the other steps' slices), and landing
    checks the region as a whole."""
    op = inst.op
    if not (op.writes_out and op.elementwise and is_known(inst.shape)):
        return None
    for i, a in enumerate(inst.args):
        if (
            a in spans
            and reading.get(a) == 1
            and a in inst.free
            and types.get(a) == (inst.shape, inst.dtype)
            and safe_over(inst, i)
        ):
            return a
    return None


def in_place_input(inst, spans, viewers, types, committed):
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
            and can_write_over(inst, i)
        ):
            return a
    return None


def op_may_write_over(op, attrs, i) -> bool:
    """True if one call of `op`'s kernel may be given its input i's memory as `out=`:
    the op says so (`writes_over`), or its kernel is one NumPy ufunc, which reads
    element k of every input before it writes element k of its result. (fuse asks
    this before a step writes into the register of a value it reads for the last time.)"""
    return i in op.writes_over or isinstance(op.kernel(**attrs), np.ufunc)


def can_write_over(inst, i) -> bool:
    """True if the kernel, as it is, may be handed input i's memory as `out=`: the op
    says so (`writes_over`), or it is elementwise and reads each element of input i
    before it writes that element of its result (safe_over).

    That must hold at every position that reads the same value: axpy(t, t) with
    writes_over = (0,) promises to read `a` before writing, not `b`, and `b` is the
    same memory."""
    return all(
        j in inst.op.writes_over or inst.op.elementwise and safe_over(inst, j, as_is=True)
        for j, a in enumerate(inst.args)
        if a == inst.args[i]
    )


def safe_over(inst, i, as_is=False) -> bool:
    """True if the kernel gives the right result when its output is input i's memory.

    One NumPy ufunc is safe: element k of the result depends on element k of the
    inputs only, read before it is written. A fused kernel runs steps, each a ufunc:
    it is safe if no step reads input i after a step has written register 0 (the
    output), which holds once only its last step writes register 0."""
    if inst.op.name != "fused":
        return isinstance(inst.op.kernel(**inst.attrs), np.ufunc)
    steps = inst.attrs["steps"]
    if not as_is:  # the steps as landing would change them
        steps, _ = last_step_writes(steps, inst.attrs["registers"])
    written = False
    for op, args, attrs, target in steps:
        reads = ("in", i) in args
        if reads and (written or target == 0 and not isinstance(op.kernel(**dict(attrs)), np.ufunc)):
            return False
        written = written or target == 0
    return True


def last_step_writes(steps, registers):
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


def _elements(shape) -> int:
    return math.prod(shape)
