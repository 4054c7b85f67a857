"""Codegen: turn a Program into one straight-line Python function, and show it.

Running a Program instruction by instruction costs a loop, a list lookup per
argument and a few checks per instruction: about a microsecond each, which
adds up for an unrolled RNN of thousands of instructions. So the Program is
also written out as Python source, one line per instruction,

    v7 = k7(v3, v5, out=b1)          # 7: hidden/matmul (matmul)
    v3 = None                        # free

and compiled once with `compile()`. `print(program.source)` shows it. The
plain loop (`Program.run_loop`) stays as the readable reference and for debug mode.

Safety: every identifier in the source is generated (`v` + slot, `k` +
slot, `b` + buffer, `c` + slot); the user's node names appear only inside
comments, escaped so that no name can end the comment line.
"""

from __future__ import annotations

FILENAME = "<symgraph program>"

#: beyond this many instructions, use the loop: measured on a 10,000-step RNN (110,000
#: instructions), the generated function took 7 s to compile and then ran slower than the loop
MAX_INSTRUCTIONS = 50_000


def _comment(text: str) -> str:
    """A name made safe for a one-line comment: no newline or other control character."""
    return text.encode("unicode_escape").decode("ascii")


def generate(program) -> tuple[str, dict, dict]:
    """Source of `run(feeds, variables)`, the names it uses, and line -> instruction index."""
    names: dict[str, object] = {}
    lines = ["def run(feeds, variables):"]
    line_of: dict[int, int] = {}
    if program.feeds:
        targets = ", ".join(f"v{slot}" for slot, _ in program.feeds)
        lines.append(f"    {targets}, = feeds")
    if program.variables:
        targets = ", ".join(f"v{slot}" for slot, _ in program.variables)
        lines.append(f"    {targets}, = variables")
    for slot, value in program.constants:
        names[f"c{slot}"] = value
        lines.append(f"    v{slot} = c{slot}")
    for index, inst in enumerate(program.instructions):
        if _inline_fused(inst, lines, names, line_of, index):
            continue
        names[f"k{inst.out}"] = inst.kernel
        args = ", ".join(f"v{a}" for a in inst.args)
        if inst.buffer is not None:  # b0, b1, ... are put in `names` when the buffers are made
            args += (", " if args else "") + f"out=b{inst.buffer}"
        code = f"    v{inst.out} = k{inst.out}({args})"
        lines.append(f"{code:<44}# {inst.out}: {_comment(inst.name)} ({inst.op.name})")
        line_of[len(lines)] = index
        _drop(lines, [f"v{s}" for s in inst.free])
    fetched = ", ".join("None" if s in program.update_slots else f"v{s}" for s in program.fetches)
    updates = ", ".join(f"v{slot}" for _, slot in program.updates)
    lines.append(f"    return [{fetched}], [{updates}]")
    return "\n".join(lines) + "\n", names, line_of


def _drop(lines, names) -> None:
    """`a = b = None`: let go of values nothing reads any more, so their memory can go."""
    if names:
        lines.append("    " + " = ".join(names) + " = None")


def _inline_fused(inst, lines, names, line_of, index) -> bool:
    """Write a fused instruction's steps out one line each, calling NumPy directly.

    Register 0 is the instruction's planned buffer; other registers are arrays
    made by their first step. Only done when the buffer is known and not 0-d
    (a 0-d result would come back as a NumPy scalar, which cannot be written into).
    """
    if inst.op.name != "fused" or inst.buffer is None or inst.shape == ():
        return False
    steps = inst.attrs["steps"]
    registers = {0: f"b{inst.buffer}"}
    formula = inst.attrs["formula"].format(*(f"%{a}" for a in inst.args))
    lines.append(f"    # {inst.out}: {_comment(inst.name)} (fused: {_comment(formula)})")
    for j, (op, args, attrs, target) in enumerate(steps):
        names[f"k{inst.out}_{j}"] = op.kernel(**dict(attrs))
        words = [f"v{inst.args[i]}" if kind == "in" else registers[i] for kind, i in args]
        if target in registers:
            code = f"    k{inst.out}_{j}({', '.join(words + [f'out={registers[target]}'])})"
        else:
            registers[target] = f"t{inst.out}_{target}"
            code = f"    {registers[target]} = k{inst.out}_{j}({', '.join(words)})"
        lines.append(f"{code:<44}# {op.name}")
        line_of[len(lines)] = index
    lines.append(f"    v{inst.out} = b{inst.buffer}")
    # the other registers die with the instruction, as they do inside Fused.forward;
    # kept, each fused instruction's temporaries would stay alive to the end of the run
    _drop(lines, [name for r, name in sorted(registers.items()) if r != 0])
    _drop(lines, [f"v{s}" for s in inst.free])
    return True


def build(program):
    """Compile the generated source: (function, source, line -> instruction, names it reads).

    The function is None for a very long Program, which then runs in the loop."""
    if len(program.instructions) > MAX_INSTRUCTIONS:
        return None, None, {}, {}
    source, names, line_of = generate(program)
    code = compile(source, FILENAME, "exec")
    exec(code, names)  # defines names["run"]; the source is ours, built from generated names
    return names["run"], source, line_of, names


def failing_instruction(exc, line_of):
    """(instruction index, the generated function's locals) at the line that raised, or None."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            index = line_of.get(tb.tb_lineno)
            if index is not None:
                return index, tb.tb_frame.f_locals
        tb = tb.tb_next
    return None
