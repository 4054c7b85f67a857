"""Compiling grows linearly with the graph: an RNN unrolled 4x longer costs about 4x.

No timing is asserted (timings vary from machine to machine and run to run); the
work is counted instead, as the number of lines of Python each stage of the
compiler runs (a tracer counts them exactly; every turn of a loop or a list
comprehension counts), and the IR's size after each pass. A quadratic stage
would run 16x the lines for 4x the steps. The seconds are in
benchmarks/compile_time.py.
"""

from __future__ import annotations

import sys

import numpy as np

import symgraph as sg
from symgraph.compiler import codegen
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import PASSES
from symgraph.compiler.passes.fuse import fuse
from symgraph.compiler.schedule import schedule
from symgraph.compiler.specialize import specialize

SHORT, LONG = 25, 100


def _counted(work):
    """(result, lines of Python run by work())."""
    lines = 0

    def trace(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return trace

    sys.settrace(trace)
    try:
        result = work()
    finally:
        sys.settrace(None)
    return result, lines


def _compile_counts(steps):
    """Per stage of a Session's compile of a `steps`-long RNN and its training step:
    (lines of Python run, IR vertices after it)."""
    graph = sg.Graph()
    with graph.as_default():
        sg.nn.init.seed(0)
        x = sg.Placeholder((None, steps, 3), dtype="float32", name="x")
        target = sg.Placeholder((None, 4), dtype="float32", name="target")
        cell = sg.nn.RNNCell(3, 4)
        _, h = sg.nn.unroll(cell, sg.unstack(x, axis=1))
        loss = sg.mse(h, target)
        train = sg.optim.SGD(lr=0.1).minimize(loss)
        counts = {}
        ir, counts["lower"] = _counted(lambda: lower([loss, train], [x, target]))
        _, lines = _counted(lambda: specialize(ir, {x: (2, steps, 3), target: (2, 4)}))
        counts["specialize"] = lines
        ir.graph["in_place"] = True  # as a Session compiles
        sizes = {"lower": len(ir)}
        for name, run_pass in PASSES:
            (ir, _), counts[name] = _counted(lambda run_pass=run_pass, ir=ir: run_pass(ir))
            sizes[name] = len(ir)
        program, counts["schedule"] = _counted(lambda: schedule(ir))
        sizes["schedule"] = len(program.instructions)
        _, counts["codegen"] = _counted(lambda: codegen.generate(program))
        with sg.Session() as sess:  # and it runs
            value = sess.run(loss, {x: np.ones((2, steps, 3)), target: np.zeros((2, 4))})
        assert np.isfinite(value)
    return counts, sizes


def test_every_stage_of_the_compiler_does_linear_work(monkeypatch):
    monkeypatch.setattr(codegen, "CHUNK", 40)  # both Programs are written in chunks
    short_lines, short_sizes = _compile_counts(SHORT)
    long_lines, long_sizes = _compile_counts(LONG)
    ratio = LONG / SHORT
    for stage, lines in long_lines.items():
        # a little over 4x: fixed costs make the short one relatively dearer, not cheaper
        assert lines <= 1.25 * ratio * short_lines[stage], (
            f"{stage}: {short_lines[stage]} lines for {SHORT} steps, {lines} for {LONG}"
        )
    for stage, size in long_sizes.items():
        assert 0.85 * ratio * short_sizes[stage] <= size <= 1.1 * ratio * short_sizes[stage], stage
    # and the passes do shrink the graph
    assert long_sizes["fuse"] < long_sizes["lower"]


def _fuse_lines(width):
    """Lines run by the fuse pass on `width` fusable chains all read by one concat."""
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    chains = [sg.tanh(x * float(i + 2)) for i in range(width)]
    ir = lower([sg.concat(chains, axis=0)], [x])
    (ir, _), lines = _counted(lambda: fuse(ir))
    assert sum(ir.nodes[k]["op"].name == "fused" for k in ir.nodes) == width
    return lines


def test_fusing_the_inputs_of_one_wide_vertex_is_linear():
    """An unrolled RNN's gradient concatenates one value per step; redirecting its
    inputs one at a time would rewrite the whole input list once per input."""
    assert _fuse_lines(400) <= 1.25 * 4 * _fuse_lines(100)


def _pass_lines_fetching_every_step(steps):
    """Lines run by each pass on a `steps`-long RNN whose state and loss at every step are fetched."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.Placeholder((2, steps, 3), dtype="float32", name="x")
        states, _ = sg.nn.unroll(sg.nn.RNNCell(3, 4), sg.unstack(x, axis=1))
        losses = [sg.mean(h * h) for h in states]
        train = sg.optim.SGD(lr=0.1).minimize(sg.mean(sg.stack(losses)))
    ir = lower([train, *states, *losses], [x])
    ir.graph["in_place"] = True
    counts = {}
    for name, run_pass in PASSES:
        (ir, report), counts[name] = _counted(lambda run_pass=run_pass, ir=ir: run_pass(ir))
        if name == "cse":
            assert report.changes  # the gradients repeat work, which cse merges
    return counts


def test_fetching_a_value_per_step_keeps_every_pass_linear():
    """A pass may replace vertices one at a time (cse merged each of its thousands so), and
    each replacement used to rewrite the whole fetch list: quadratic with values fetched per step."""
    short = _pass_lines_fetching_every_step(SHORT)
    long = _pass_lines_fetching_every_step(LONG)
    for name, lines in long.items():
        assert lines <= 1.25 * (LONG / SHORT) * short[name], (
            f"{name}: {short[name]} lines for {SHORT} steps, {lines} for {LONG}"
        )
