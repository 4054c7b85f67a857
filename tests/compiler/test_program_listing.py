"""`str(program)`: the listing a student reads, one instruction a line.

Compiled with `disable="all"`, so the instructions are exactly the user's Nodes.
"""

from __future__ import annotations

import re

import numpy as np

import symgraph as sg


def test_listing_has_one_line_per_instruction_with_slot_op_inputs_shape_and_name():
    x = sg.Placeholder((None, 2), name="x")
    W = sg.Variable(np.ones((2, 3), dtype=np.float32), name="W")
    with sg.name_scope("layer"):
        h = sg.tanh(x @ W, name="h")
    out = sg.sum(h, name="out")
    program = sg.compile(out, disable="all")
    lines = str(program).splitlines()
    assert lines[0] == "Program: 3 instructions, 1 feeds, 1 variables, 0 constants"
    body = [line for line in lines if re.match(r"%\d+ = (matmul|tanh|sum) ", line)]
    assert len(body) == len(program.instructions) == 3
    matmul, tanh, total = body
    assert re.match(r"%2 = matmul %0, %1\s+\(None, 3\) float32\s+layer/matmul$", matmul)
    assert re.match(r"%3 = tanh %2\s+\(None, 3\) float32\s+layer/h\s+free %2$", tanh)
    # () is known: a region of a buffer, elements 0 to 1
    assert re.match(r"%4 = sum %3\s+\(\) float32\s+out\s+-> buf0\[0:1\]\s+free %3$", total)
    assert re.match(r"%0 = feed\s+\(None, 2\) float32\s+x$", lines[1])
    assert re.match(r"%1 = variable\s+\(2, 3\) float32\s+W$", lines[2])
    assert lines[-1] == "fetch %4"


def test_listing_columns_line_up_for_feeds_constants_and_instructions():
    x = sg.Placeholder((3,), name="x")
    out = sg.sum(x * np.float32(2.0), name="out")
    lines = str(sg.compile(out, disable="all")).splitlines()[1:-1]
    columns = {line.index("(") for line in lines}
    assert len(columns) == 1, lines


def test_listing_shows_updates_and_their_variables():
    v = sg.Variable(np.zeros(2, dtype=np.float32), name="v")
    step = sg.assign(v, v + 1.0, name="step")
    text = str(sg.compile(step, disable="all"))
    assert re.search(r"^update v <- %\d+$", text, re.M)
    assert re.search(r"= assign %\d+, %(\d+) .* step   keeps %\1 for the commit$", text, re.M)


def test_repr_of_a_program_counts_instructions():
    x = sg.Placeholder((2,), name="x")
    assert repr(sg.compile(sg.exp(x), disable="all")) == "<Program: 1 instructions>"


def test_listing_after_all_passes_still_has_one_line_per_instruction():
    x = sg.Placeholder((None, 3), name="x")
    W = sg.Variable(np.ones((3, 3), dtype=np.float32), name="W")
    h = sg.tanh(x @ W)
    loss = sg.mean(h * h + 1.0)
    program = sg.compile([loss, *sg.gradients(loss, [W])])
    lines = str(program).splitlines()
    ops = [line for line in lines if re.match(r"%\d+ = (?!feed |variable |constant )", line)]
    assert len(ops) == len(program.instructions)
    assert [int(line.split()[0][1:]) for line in ops] == [i.out for i in program.instructions]


def test_a_name_that_does_not_print_is_escaped_and_stays_on_its_line():
    """A name with a newline would otherwise add a line that looks like an instruction."""
    x = sg.Placeholder((2,), dtype="float64", name="x\n%9 = feed (9, 9) float64 injected")
    w = sg.Variable(np.ones(2), name="poids_é\t")
    loss = sg.sum(x * w, name="lo\u2028ss")
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    program = sg.compile([loss, train], {x: np.ones(2)})
    text = str(program)
    lines = text.split("\n")
    assert len(lines) == len(text.splitlines())  # no line break of any kind inside a line
    assert len(lines) == 1 + 1 + 1 + len(program.constants) + len(program.instructions) + 2
    assert not any(line.startswith("%9 = feed") for line in lines)
    assert r"x\n%9 = feed (9, 9) float64 injected" in text
    assert r"lo\u2028ss" in text
    assert r"update poids_é\t <- %" in text  # letters stay letters
