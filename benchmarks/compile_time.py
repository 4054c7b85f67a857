"""W3, unroll scaling: how the cost of an unrolled RNN grows with its length, against NumPy.

    python benchmarks/compile_time.py                  # 10, 100, 1,000 and 10,000 steps
    python benchmarks/compile_time.py --steps 10 100   # only these
    python benchmarks/compile_time.py --passes         # also each compiler pass's seconds
    python benchmarks/compile_time.py --rounds 3       # medians of 3 rounds, for a busy machine

The model is W2's RNN (benchmarks/workloads.py: vocab 64, embedding 32, hidden
128, tanh cell, cross-entropy at every step, full BPTT, one SGD step) at batch
8, unrolled T steps. For each T, in a fresh process, it prints the seconds spent

    build     building the forward graph
    grads     adding the gradient graph and the SGD update (minimize)
    compile   compiling it: lowering, every pass, scheduling, the memory plan
    first     the rest of the first Session.run, which runs the plain loop
    second    the second run, which also writes the Program as Python and compiles that

then build + grads + compile per unrolled step (flat when the compiler is
linear), the median milliseconds of one training step after those, the same for
the hand-written NumPy version (rnn_numpy, in its own fresh process), and the
ratio of the two: below 1 is faster than NumPy. Both first losses are compared.
A round measures NumPy, then symgraph; with several rounds each figure is the
median over them, and the ratio the median of each round's own ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # timing.py, workloads.py: this script's neighbours
from timing import median_seconds  # noqa: E402

ROOT = os.path.dirname(HERE)
BATCH = 8


def measure_symgraph(steps: int, dtype: str) -> dict:
    """Build, differentiate, compile and run a `steps`-long RNN; the seconds of each."""
    import workloads as w

    import symgraph as sg
    import symgraph.session

    compiled = {}

    def timed_compile(*args, **kwargs):  # the Session's own compile, timed from outside
        start = time.perf_counter()
        compiled["program"], compiled["passes"] = compile_steps(*args, **kwargs)
        compiled["seconds"] = time.perf_counter() - start
        return compiled["program"], compiled["passes"]

    compile_steps = symgraph.session.compile_steps
    symgraph.session.compile_steps = timed_compile

    began = time.perf_counter()
    graph, loss, params, feed = w.rnn_graph(dtype, steps=steps, batch=BATCH)
    built = time.perf_counter()
    with graph.as_default():
        train = sg.optim.SGD(lr=w.LR, params=params).minimize(loss)
    differentiated = time.perf_counter()
    sess = sg.Session(graph)

    def step():
        return sess.run([loss, train], feed)[0]

    first_loss = step()
    first = time.perf_counter() - differentiated - compiled["seconds"]
    start = time.perf_counter()
    step()
    second = time.perf_counter() - start
    return {
        "nodes": len(graph),
        "instructions": len(compiled["program"].instructions),
        "build": built - began,
        "grads": differentiated - built,
        "compile": compiled["seconds"],
        "first": first,
        "second": second,
        "step": median_seconds(step),
        "loss": float(first_loss),
        "passes": {s.name: s.report.seconds for s in compiled["passes"]},
    }


def measure_numpy(steps: int, dtype: str) -> dict:
    import workloads as w

    step, _ = w.rnn_numpy(dtype, steps=steps, batch=BATCH)
    return {"loss": float(step()), "step": median_seconds(step)}


def run_child(contender: str, steps: int, dtype: str) -> dict:
    """Measure in a fresh process, so no allocator state or cache leaks between contenders."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", contender, str(steps), dtype],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{contender}, {steps} steps failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values):
    return sorted(values)[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 100, 1000, 10000])
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; medians are shown")
    parser.add_argument("--passes", action="store_true", help="also print each pass's seconds")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path[:0] = [HERE, ROOT]  # a clone, uninstalled
        contender, steps, dtype = args.child
        measure = measure_symgraph if contender == "symgraph" else measure_numpy
        print(json.dumps(measure(int(steps), dtype)))
        return

    print(f"W3: the W2 RNN at batch {BATCH}, {args.dtype}, one SGD step; seconds, then ms")
    print(
        f"{'steps':>6} {'nodes':>7} {'instrs':>7} {'build':>7} {'grads':>7} {'compile':>8} "
        f"{'first':>7} {'second':>7} {'b+g+c/step':>11} {'step':>9} {'numpy':>9} {'ratio':>6}"
        "  loss"
    )
    totals = {}  # steps -> seconds to build, differentiate and compile
    for steps in args.steps:
        rounds = []  # a round: NumPy, then symgraph, each in a fresh process
        for _ in range(args.rounds):
            n = run_child("numpy", steps, args.dtype)
            r = run_child("symgraph", steps, args.dtype)
            r["numpy"], r["ratio"] = n["step"], r["step"] / n["step"]
            r["same"] = abs(r["loss"] - n["loss"]) <= 1e-4 * max(1.0, abs(n["loss"]))
            rounds.append(r)
        r = {k: _median([x[k] for x in rounds]) for k in rounds[0] if k != "passes"}
        per_step = 1000 * (r["build"] + r["grads"] + r["compile"]) / steps
        print(
            f"{steps:>6} {r['nodes']:>7} {r['instructions']:>7} {r['build']:>7.3f} "
            f"{r['grads']:>7.3f} {r['compile']:>8.3f} {r['first']:>7.3f} {r['second']:>7.3f} "
            f"{per_step:>11.3f} {1000 * r['step']:>9.2f} {1000 * r['numpy']:>9.2f} "
            f"{r['ratio']:>6.2f}  {'same' if all(x['same'] for x in rounds) else 'MISMATCH'}",
            flush=True,
        )
        if args.passes:
            passes = {k: _median([x["passes"][k] for x in rounds]) for k in rounds[0]["passes"]}
            print("        " + "  ".join(f"{k} {v:.3f}" for k, v in passes.items()))
        totals[steps] = r["build"] + r["grads"] + r["compile"]
    # how the build + gradients + compile time grows: linear growth is the steps' own ratio
    lengths = sorted(totals)
    for shorter, longer in zip(lengths, lengths[1:]):
        print(f"{longer} steps took {totals[longer] / totals[shorter]:.1f} times as long as "
              f"{shorter} to build, differentiate and compile (linear: {longer / shorter:g})")


if __name__ == "__main__":
    main()
