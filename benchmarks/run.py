"""Speed of symgraph against hand-written NumPy (and PyTorch, when installed), as ratios.

    python benchmarks/run.py                 # W1 and W2, float64 and float32
    python benchmarks/run.py --quick         # fewer repeats

Each contender runs in a fresh process (allocator state leaks between
contenders otherwise), a few warm-up steps first, then the median time of
one training step over several measurements. Before timing, every contender's
loss and gradients are checked against the NumPy version's.

W1: MLP 784 -> 256 (tanh) -> 10, softmax cross-entropy, batch 128, one SGD step.
W2: RNN, vocab 64, embedding 32, hidden 128, tanh cell, 32 steps unrolled,
    batch 32, cross-entropy at every step, full BPTT, one SGD step.
The ratio is contender time / NumPy time, measured in the same invocation:
below 1 is faster than NumPy. Memory: the process's peak resident set
(getrusage) and the peak of memory allocated through Python during one step
(tracemalloc; NumPy reports its arrays to it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def measure(workload, contender, dtype, steps, repeats):
    """Run in a child process: check, warm up, time; print JSON."""
    sys.path[:0] = [HERE, ROOT]
    import numpy as np
    import workloads as w

    step, forward_backward = getattr(w, f"{workload}_{contender}")(dtype)
    _, reference = getattr(w, f"{workload}_numpy")(dtype)
    loss, grads = forward_backward()
    ref_loss, ref_grads = reference()
    tol = 1e-8 if dtype == "float64" else 2e-3
    ok = bool(np.allclose(loss, ref_loss, rtol=tol, atol=tol)) and all(
        np.allclose(g, r, rtol=tol, atol=tol * 10) for g, r in zip(grads, ref_grads)
    )
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    times.sort()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    tracemalloc.start()
    step()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"median": times[len(times) // 2], "first": first, "ok": ok,
                      "rss_mb": peak_rss_mb, "traced_mb": traced_peak / 1e6}))


def run_child(workload, contender, dtype, steps, repeats):
    out = subprocess.run(
        [sys.executable, __file__, "--child", workload, contender, dtype, str(steps), str(repeats)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--workloads", default="mlp,rnn")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workload, contender, dtype, steps, repeats = args.child
        measure(workload, contender, dtype, int(steps), int(repeats))
        return

    contenders = ["numpy", "symgraph"]
    for optional in ("torch", "autograd"):  # the `bench` extra
        if importlib.util.find_spec(optional) is not None:
            contenders.append(optional)
    steps, repeats = (5, 3) if args.quick else (20, 7)
    print(f"{'workload':<10}{'dtype':<9}{'contender':<11}{'ms/step':>9}{'ratio':>8}"
          f"{'peak RSS MB':>13}{'traced MB':>11}  checked")
    for workload in args.workloads.split(","):
        for dtype in args.dtypes.split(","):
            base = None
            for contender in contenders:
                r = run_child(workload, contender, dtype, steps, repeats)
                if "error" in r:
                    print(f"{workload:<10}{dtype:<9}{contender:<11}  error: {r['error']}")
                    continue
                ms = r["median"] * 1000
                base = ms if contender == "numpy" else base
                ratio = f"{ms / base:.2f}" if base else "-"
                print(f"{workload:<10}{dtype:<9}{contender:<11}{ms:9.2f}{ratio:>8}"
                      f"{r['rss_mb']:13.1f}{r['traced_mb']:11.2f}  "
                      f"{'same loss and gradients' if r['ok'] else 'MISMATCH'}")


if __name__ == "__main__":
    main()
