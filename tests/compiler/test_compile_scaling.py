"""Compiling grows linearly with the graph: an RNN unrolled 4x longer costs about 4x.

No timing is asserted (timings vary from machine to machine and run to run); the
work is counted instead, as the number of Python function calls each stage of the
compiler makes (cProfile counts them exactly), and the IR's size after each pass.
A quadratic stage would make 16x the calls for 4x the steps. The seconds are in
benchmarks/compile_time.py.
"""

from __future__ import annotations

import cProfile
import pstats

import numpy as np

import symgraph as sg
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import PASSES
from symgraph.compiler.schedule import schedule
from symgraph.compiler.specialize import specialize

SHORT, LONG = 25, 100


def _counted(work):
    """(result, Python function calls made by work())."""
    profile = cProfile.Profile()
    result = profile.runcall(work)
    return result, pstats.Stats(profile).total_calls


def _compile_counts(steps):
    """Per stage of a Session's compile of a `steps`-long RNN and its training step:
    (calls made, IR vertices after it)."""
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
        _, calls = _counted(lambda: specialize(ir, {x: (2, steps, 3), target: (2, 4)}))
        counts["specialize"] = calls
        ir.graph["in_place"] = True  # as a Session compiles
        sizes = {"lower": len(ir)}
        for name, run_pass in PASSES:
            (ir, _), counts[name] = _counted(lambda run_pass=run_pass, ir=ir: run_pass(ir))
            sizes[name] = len(ir)
        program, counts["schedule"] = _counted(lambda: schedule(ir))
        sizes["schedule"] = len(program.instructions)
        with sg.Session() as sess:  # and it runs
            value = sess.run(loss, {x: np.ones((2, steps, 3)), target: np.zeros((2, 4))})
        assert np.isfinite(value)
    return counts, sizes


def test_every_stage_of_the_compiler_does_linear_work():
    short_calls, short_sizes = _compile_counts(SHORT)
    long_calls, long_sizes = _compile_counts(LONG)
    ratio = LONG / SHORT
    for stage, calls in long_calls.items():
        # a little over 4x: fixed costs make the short one relatively dearer, not cheaper
        assert calls <= 1.25 * ratio * short_calls[stage], (
            f"{stage}: {short_calls[stage]} calls for {SHORT} steps, {calls} for {LONG}"
        )
    for stage, size in long_sizes.items():
        assert 0.85 * ratio * short_sizes[stage] <= size <= 1.1 * ratio * short_sizes[stage], stage
    # and the passes do shrink the graph
    assert long_sizes["fuse"] < long_sizes["lower"]
