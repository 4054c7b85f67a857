"""Codegen: turn a Program into straight-line Python functions, and show them.

Running a Program instruction by instruction costs a loop, a list lookup per
argument and a few checks per instruction: about a microsecond each, which
adds up for an unrolled RNN of thousands of instructions. So the Program is
also written out as Python source, one line per instruction,

    v7 = k7(v3, v5, out=b1)          # 7: hidden/matmul (matmul)
    v3 = None                        # free

and compiled once with `compile()`. `print(program.source)` shows it. The
plain loop (`Program.run_loop`) stays as the readable reference and for debug mode.

A longer Program is written as a sequence of functions, `chunk0`, `chunk1`, ...,
of at most CHUNK instructions each, which `run` calls in turn, and each function
is compiled on its own. That keeps two costs of Python's own compiler bounded by
one chunk, however long the Program: its time per line, which grows with the
function's length, and its memory, which it holds for the whole of what it is
given at once (see build). A value read outside the
chunk that makes it (and every feed, Variable, fetched value and new Variable
value) lives in one list `s` at its slot, `s[9]` where a local would be `v9`, and
is let go the same way, `s[9] = None` after its last reader; constants are read
from their globals, `c9`. Every other value stays a local of its chunk.

Safety: every identifier in the source is generated (`v` + slot, `k` + slot,
`b` + buffer, `c` + slot, `t` + slot for a fused kernel's temporaries, `chunk` +
number, `s`); the user's node names appear only inside comments, escaped so that
no name can end the comment line.
"""

from __future__ import annotations

from types import CodeType

FILENAME = "<symgraph program>"

#: the most instructions in one generated function; a longer Program is cut into chunks
#: of this many. Measured with Python 3.11 on code like this: one function compiles at
#: 46 us an instruction for 20,000 instructions and 69 us for 240,000; chunks, at 40 to
#: 45 us for every length. On a 10,000-step RNN (70,000 instructions) chunks of 250 to
#: 10,000 all cost the same to write and compile, and run as fast as one function; on a
#: 1,000-step one, so do chunks of 100, and the W2 RNN runs as fast in chunks of 100 as
#: in one function. Small chunks keep compile()'s memory small (see build): about 1 MB
#: for 100 instructions, where W2's 266 instructions in one function took 2.8 MB.
CHUNK = 100


def one_line(text: str) -> str:
    """A name made safe for one line (a comment here, a row of the listing): each
    newline or other character that does not print is written as its escape (a
    newline as \\n); letters of any alphabet stay as they are."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _commented(code: str, comment: str) -> str:
    """A line of code with its comment, the comments lined up in one column."""
    return f"{code:<43} # {comment}"


class _Source:
    """The lines being written, the names they use, and line number -> instruction index."""

    def __init__(self, shared=frozenset(), constants=frozenset()):
        self.lines: list[str] = []
        self.names: dict[str, object] = {}
        self.line_of: dict[int, int] = {}
        self.starts: list[int] = []  # the index in `lines` of each function's `def` line
        self.shared = shared  # slots whose value lives in the list s, not in a local
        self.constants = constants  # slots read straight from their global c<slot>

    def ref(self, slot: int) -> str:
        """How the source names the value in `slot`."""
        if slot in self.constants:
            return f"c{slot}"
        return f"s[{slot}]" if slot in self.shared else f"v{slot}"

    def add(self, line: str, index: int | None = None) -> None:
        self.lines.append(line)
        if index is not None:  # an instruction runs here: an error on this line is its
            self.line_of[len(self.lines)] = index

    def begin(self, header: str) -> None:
        """Start a function: `def ...:` (build compiles each function on its own)."""
        self.starts.append(len(self.lines))
        self.add(header)

    def functions(self) -> list[tuple[int, str]]:
        """Each function as (the line of the whole source it starts on, its source)."""
        ends = self.starts[1:] + [len(self.lines)]
        return [(start + 1, "\n".join(self.lines[start:end]) + "\n")
                for start, end in zip(self.starts, ends)]

    def drop(self, names) -> None:
        """`a = b = None`: let go of values nothing reads any more, so their memory can go."""
        if names:
            self.add("    " + " = ".join(names) + " = None")

    def instruction(self, index: int, inst) -> None:
        if inst.in_place:  # a concat whose parts were computed into it: no call at all
            code = f"    {self.ref(inst.out)} = b{inst.view}"
            self.add(_commented(code, f"{inst.out}: {one_line(inst.name)} ({one_line(inst.op.name)}, "
                                      "parts written in place)"), index)
        elif not self._inline_fused(index, inst):
            self.names[f"k{inst.out}"] = inst.kernel
            args = ", ".join(self.ref(a) for a in inst.args)
            if inst.view is not None:  # b0, b1, ... are put in `names` when the buffers are made
                args += (", " if args else "") + f"out=b{inst.view}"
            if inst.scratch is not None:  # its work array, a view like the others
                args += (", " if args else "") + f"scratch=b{inst.scratch}"
            code = f"    {self.ref(inst.out)} = k{inst.out}({args})"
            self.add(_commented(code, f"{inst.out}: {one_line(inst.name)} ({one_line(inst.op.name)})"), index)
        self.drop([self.ref(s) for s in inst.free])

    def _inline_fused(self, index: int, inst) -> bool:
        """Write a fused instruction's steps out one line each, calling NumPy directly.

        Register 0 is the instruction's planned buffer; other registers are arrays
        made by their first step (copied, unless the op promises `fresh_output`: later
        steps write into a register, and it must not be an input). Only done when the buffer is known and not 0-d
        (a 0-d result would come back as a NumPy scalar, which cannot be written into).
        """
        if inst.op.name != "fused" or inst.view is None or inst.shape == ():
            return False
        registers = {0: f"b{inst.view}"}
        formula = inst.attrs["formula"].format(*(f"%{a}" for a in inst.args))
        self.add(f"    # {inst.out}: {one_line(inst.name)} (fused: {one_line(formula)})")
        for j, (op, args, attrs, target) in enumerate(inst.attrs["steps"]):
            self.names[f"k{inst.out}_{j}"] = op.kernel(**dict(attrs))
            words = [self.ref(inst.args[i]) if kind == "in" else registers[i] for kind, i in args]
            if target in registers:
                code = f"    k{inst.out}_{j}({', '.join(words + [f'out={registers[target]}'])})"
            else:
                registers[target] = f"t{inst.out}_{target}"
                # a result that may be an input gets a copy of its own, as in Fused.forward
                copy = "" if op.fresh_output else ".copy()"
                code = f"    {registers[target]} = k{inst.out}_{j}({', '.join(words)}){copy}"
            self.add(_commented(code, one_line(op.name)), index)
        self.add(f"    {self.ref(inst.out)} = b{inst.view}")
        # the other registers die with the instruction, as they do inside Fused.forward;
        # kept, each fused instruction's temporaries would stay alive to the end of the run
        self.drop([name for r, name in sorted(registers.items()) if r != 0])
        return True


def generate(program) -> tuple[list[tuple[int, str]], dict, dict]:
    """The functions of the source of `run(feeds, variables)`, each as (its first line,
    its source); the names they use; and line -> instruction index.

    Up to CHUNK instructions make one function; more, a function per CHUNK
    instructions and a `run` that calls them in turn.
    """
    if len(program.instructions) <= CHUNK:
        source = _Source()
        _write_one(program, source)
    else:
        constants = {slot for slot, _ in program.constants}
        source = _Source(_shared(program, CHUNK, constants), constants)
        _write_chunks(program, source, CHUNK)
    for slot, value in program.constants:
        source.names[f"c{slot}"] = value
    return source.functions(), source.names, source.line_of


def _write_one(program, source: _Source) -> None:
    """The whole Program as one function, every value a local variable."""
    source.begin("def run(feeds, variables):")
    if program.feeds:
        source.add("    " + ", ".join(f"v{slot}" for slot, _ in program.feeds) + ", = feeds")
    if program.variables:
        source.add(
            "    " + ", ".join(f"v{slot}" for slot, _ in program.variables) + ", = variables"
        )
    for slot, _ in program.constants:
        source.add(f"    v{slot} = c{slot}")
    for index, inst in enumerate(program.instructions):
        source.instruction(index, inst)
    source.add(f"    return {_answers(program, source)}")


def _answers(program, source: _Source) -> str:
    """`[fetched values], [new Variable values]`, as the source names them."""
    fetched = ", ".join(
        "None" if s in program.update_slots else source.ref(s) for s in program.fetches
    )
    updates = ", ".join(source.ref(slot) for _, slot in program.updates)
    return f"[{fetched}], [{updates}]"


def _write_chunks(program, source: _Source, chunk: int) -> None:
    """`run` puts the feeds and Variables in `s` and calls each chunk; then the chunks."""
    instructions = program.instructions
    starts = range(0, len(instructions), chunk)
    source.begin("def run(feeds, variables):")
    source.add(f"    # {len(instructions)} instructions in {len(starts)} chunks of up to {chunk}:")
    source.add("    # a value read outside the chunk that makes it lives in s[slot]")
    source.add(f"    s = [None] * {program.n_slots}")
    if program.feeds:
        source.add("    " + ", ".join(f"s[{slot}]" for slot, _ in program.feeds) + ", = feeds")
    if program.variables:
        source.add(
            "    " + ", ".join(f"s[{slot}]" for slot, _ in program.variables) + ", = variables"
        )
    for number in range(len(starts)):
        source.add(f"    chunk{number}(s)")
    source.add(f"    return {_answers(program, source)}")
    for number, start in enumerate(starts):
        end = min(start + chunk, len(instructions))
        source.add("")
        source.add("")
        source.begin(f"def chunk{number}(s):")
        source.add(f"    # instructions {start} to {end - 1}")
        for index in range(start, end):
            source.instruction(index, instructions[index])


def _shared(program, chunk: int, constants) -> set[int]:
    """The slots whose values must outlive a chunk: read in another chunk than the one
    that makes them, or answered (fetched, or a Variable's new value); and the feeds and
    Variables, which `run` itself puts in. One pass: linear in the Program's size."""
    shared = {slot for slot, _ in program.feeds + program.variables}
    shared.update(s for s in program.fetches if s not in program.update_slots)
    shared.update(slot for _, slot in program.updates)
    made_in = {}  # slot -> the chunk whose instruction makes it
    for index, inst in enumerate(program.instructions):
        number = index // chunk
        for a in inst.args:
            if made_in.get(a, number) != number:
                shared.add(a)
        made_in[inst.out] = number
    return shared - constants


def build(program):
    """Compile the generated source: (function, source, line -> instruction, names it reads).

    compile() holds about 4 KB for each line of source while it works (its tokens,
    syntax tree, symbol tables and bytecode being assembled; more for a line of many
    arguments), and lets it all go when done. Compiled whole, a 19,000-line source (a
    1,000-step RNN) held 94 MB at once; compiled one function at a time, it holds one
    function's worth, at most CHUNK instructions.
    """
    functions, names, line_of = generate(program)
    for first, function in functions:
        code = compile(function, FILENAME, "exec")
        # compiled alone, its lines count from 1: number them as in the whole source,
        # so that line_of and a traceback's line numbers still match program.source
        exec(_moved(code, first - 1), names)  # the source is ours, built from generated names
    source = "".join(function for _, function in functions)
    return names["run"], source, line_of, names


def _moved(code, lines: int):
    """`code`, and the code of the functions it defines, `lines` lines further down.
    Python stores every line number relative to a code object's first line."""
    consts = tuple(_moved(c, lines) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=consts)


def failing_instruction(exc, line_of, n_slots: int):
    """(instruction index, the value of every slot at that moment) where the generated
    code raised `exc`, or None. A slot not yet (or no longer) set reads None, as in
    run_loop's list of values."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            index = line_of.get(tb.tb_lineno)
            if index is not None:
                return index, _values(tb.tb_frame, n_slots)
        tb = tb.tb_next
    return None


def _values(frame, n_slots: int) -> list:
    """Each slot's value in a generated function's frame: a local v<slot>, a constant
    c<slot>, or an entry of the shared list s."""
    local, constants = frame.f_locals, frame.f_globals
    shared = local.get("s") or [None] * n_slots
    values = []
    for slot in range(n_slots):
        name = f"v{slot}"
        if name in local:
            values.append(local[name])
        else:
            values.append(constants.get(f"c{slot}", shared[slot]))
    return values
