"""How compile time grows with the length of an unrolled RNN: it should grow linearly.

    python benchmarks/compile_time.py                  # 10, 100, 1,000 and 10,000 steps
    python benchmarks/compile_time.py --steps 10 100   # only these

The model is a tanh RNN cell (hidden 128, input 32, batch 8) unrolled over T
steps, with a mean-squared loss on the last hidden state and one SGD step.
For each T it prints the seconds spent building the forward graph, adding the
gradient graph (sg.gradients through minimize), and compiling it (lowering,
every pass, scheduling, memory plan, code generation), the seconds per step of
each, and the node counts before and after the passes. A linear compiler keeps
the per-step columns flat as T grows by 10x.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a clone, uninstalled

import symgraph as sg  # noqa: E402
from symgraph.compiler import compile_steps

HIDDEN, INPUT, BATCH = 128, 32, 8


def measure(steps: int) -> dict:
    """Build, differentiate and compile a `steps`-long RNN; return the seconds and sizes."""
    graph = sg.Graph()
    with graph.as_default():
        sg.nn.init.seed(0)
        start = time.perf_counter()
        x = sg.Placeholder((BATCH, steps, INPUT), dtype="float32", name="x")
        target = sg.Placeholder((BATCH, HIDDEN), dtype="float32", name="target")
        cell = sg.nn.RNNCell(INPUT, HIDDEN)
        _, h = sg.nn.unroll(cell, sg.unstack(x, axis=1))
        loss = sg.mse(h, target)
        built = time.perf_counter()
        train = sg.optim.SGD(lr=0.01).minimize(loss)
        differentiated = time.perf_counter()
        feeds = {x: (BATCH, steps, INPUT), target: (BATCH, HIDDEN)}
        program, passes = compile_steps([loss, train], feeds, keep_steps=False)
        compiled = time.perf_counter()
    return {
        "steps": steps,
        "nodes": len(graph),
        "instructions": len(program.instructions),
        "build": built - start,
        "gradients": differentiated - built,
        "compile": compiled - differentiated,
        "passes": {s.name: s.report.seconds for s in passes},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 100, 1000, 10000])
    parser.add_argument("--passes", action="store_true", help="also print each pass's seconds")
    args = parser.parse_args()

    header = (
        f"{'steps':>6} {'nodes':>7} {'instrs':>7}   {'build s':>8} {'grads s':>8} "
        f"{'compile s':>9}   {'build ms/step':>13} {'grads ms/step':>13} {'compile ms/step':>15}"
    )
    print(f"unrolled tanh RNN, hidden {HIDDEN}, input {INPUT}, batch {BATCH}, float32, SGD")
    print(header)
    for steps in args.steps:
        r = measure(steps)
        per = [1000 * r[k] / steps for k in ("build", "gradients", "compile")]
        print(
            f"{steps:>6} {r['nodes']:>7} {r['instructions']:>7}   {r['build']:>8.3f} "
            f"{r['gradients']:>8.3f} {r['compile']:>9.3f}   {per[0]:>13.3f} {per[1]:>13.3f} "
            f"{per[2]:>15.3f}"
        )
        if args.passes:
            print("        " + "  ".join(f"{k} {v:.3f}" for k, v in r["passes"].items()))


if __name__ == "__main__":
    main()
