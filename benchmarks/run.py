"""Speed and memory of symgraph against hand-written NumPy (and others, when installed), as ratios.

    python benchmarks/run.py                 # W1 and W2, float64 and float32, 3 rounds
    python benchmarks/run.py --quick         # one round, fewer repeats
    python benchmarks/run.py --rounds 5      # more rounds, for a noisy machine
    python benchmarks/run.py --workloads W1 --dtypes float32   # one workload, one dtype

Each contender runs in a fresh process (allocator state leaks between
contenders otherwise): a few warm-up steps first, then the median time of one
training step over several measurements. Before timing, every contender's
loss and gradients are checked against the NumPy version's. A round runs every
contender once, NumPy first; the ratio is contender / NumPy within a round
(below 1 is faster than NumPy), and the table shows the median over rounds,
which keeps a slow moment of a busy machine from deciding a figure.
Compiling is not timed: PyTensor compiles when the model is built and at the
first call (minutes the first time; it caches in ~/.pytensor after that).

W1: MLP 784 -> 256 (tanh) -> 10, softmax cross-entropy, batch 128, one SGD step.
W2: RNN, vocab 64, embedding 32, hidden 128, tanh cell, 32 steps unrolled,
    batch 32, cross-entropy at every step, full BPTT, one SGD step.

Memory is measured in another fresh process per contender, because tracing
allocations slows every step down:
  peak RSS       the process's peak resident set (getrusage), imports included;
  above imports  the same, less the resident set right after the imports: what
                 the model itself, its compile and its training steps cost
                 (and, in brackets, that as a multiple of NumPy's);
  traced         the peak of memory allocated through Python (tracemalloc, which
                 NumPy reports its arrays to) from before the model is built to
                 after three training steps: data, parameters, graph, compiled
                 program and its buffers, and every temporary (and its
                 multiple of NumPy's).
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
sys.path.insert(0, HERE)  # timing.py, workloads.py: this script's neighbours
from timing import median_seconds  # noqa: E402


def _load(workload, contender, dtype):
    """(step, forward_backward) of one contender, and NumPy's forward_backward."""
    import workloads as w

    step, forward_backward = getattr(w, f"{workload}_{contender}")(dtype)
    _, reference = getattr(w, f"{workload}_numpy")(dtype)
    return step, forward_backward, reference


def _import_contender(contender):
    """Import what the contender needs before anything is measured, so that the
    resident set 'after imports' includes its libraries.

    numpy.random too, for every contender: the workloads make their data with it,
    and NumPy loads it only when first used. Left to the measured part, its 0.75 MB
    of module code counted against the hand-written NumPy version alone (importing
    symgraph had already loaded it for symgraph)."""
    import numpy  # noqa: F401
    import numpy.random  # noqa: F401

    sys.path[:0] = [HERE, ROOT]  # symgraph from this clone, and workloads.py
    if contender != "numpy":
        importlib.import_module(contender)
    if contender == "pytensor":  # its default (Numba) backend imports numba at the first compile
        from pytensor.compile.mode import get_default_mode
        from pytensor.link.numba.linker import NumbaLinker

        if isinstance(get_default_mode().linker, NumbaLinker):
            import numba  # noqa: F401


def measure(workload, contender, dtype, steps, repeats):
    """Run in a child process: check, warm up, time; print JSON."""
    import numpy as np

    _import_contender(contender)
    step, forward_backward, reference = _load(workload, contender, dtype)
    loss, grads = forward_backward()
    ref_loss, ref_grads = reference()
    tol = 1e-8 if dtype == "float64" else 2e-3
    ok = bool(np.allclose(loss, ref_loss, rtol=tol, atol=tol)) and all(
        np.allclose(g, r, rtol=tol, atol=tol * 10) for g, r in zip(grads, ref_grads)
    )
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    median = median_seconds(step, repeats=repeats, warmup=3, calls=steps)
    print(json.dumps({"median": median, "first": first, "ok": ok}))


def measure_memory(workload, contender, dtype):
    """Run in a child process: the memory one contender's model and 3 steps take; print JSON."""
    _import_contender(contender)
    imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    import workloads as w

    step, _ = getattr(w, f"{workload}_{contender}")(dtype)
    for _ in range(3):
        step()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    # PyTorch allocates its tensors outside Python's allocator: tracemalloc cannot see them
    traced = None if contender == "torch" else traced_peak / 1e6
    print(json.dumps({"rss_mb": peak / 1024, "above_imports_mb": (peak - imported) / 1024,
                      "traced_mb": traced}))


# The workloads by the names, and by the names of their functions in workloads.py
WORKLOADS = {"w1": "mlp", "w2": "rnn", "mlp": "mlp", "rnn": "rnn"}
LABELS = {"mlp": "W1", "rnn": "W2"}
DTYPES = ("float64", "float32")


def _chosen(text, known, what):
    """The comma-separated choices in `text`, each checked against `known`."""
    chosen = [c.strip() for c in text.split(",") if c.strip()]
    for c in chosen:
        if c.lower() not in known:
            sys.exit(f"run.py: unknown {what} {c!r}; choose from {', '.join(sorted(known))}")
    return [known[c.lower()] for c in chosen]


def run_child(*args):
    out = subprocess.run(
        [sys.executable, __file__, "--child", *map(str, args)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _with_ratio(memory, numpy_memory, key, digits):
    """'5.19 (1.48x)': a figure and its ratio to NumPy's, or 'n/a' when not measured."""
    value, base = memory.get(key), numpy_memory.get(key)
    if value is None:
        return "n/a"
    if not base:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({value / base:.2f}x)"


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, fewer repeats")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; 1 with --quick)")
    parser.add_argument("--workloads", default="W1,W2", help="W1 (the MLP), W2 (the RNN), or both")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] == "memory":
            measure_memory(*args.child[1:])
        else:
            workload, contender, dtype, steps, repeats = args.child
            measure(workload, contender, dtype, int(steps), int(repeats))
        return

    workloads = _chosen(args.workloads, WORKLOADS, "workload")
    dtypes = _chosen(args.dtypes, {d: d for d in DTYPES}, "dtype")
    contenders = ["numpy", "symgraph"]
    for optional in ("torch", "autograd", "pytensor"):  # the `bench` extra
        if importlib.util.find_spec(optional) is not None:
            contenders.append(optional)
    steps, repeats = (5, 3) if args.quick else (20, 7)
    rounds = args.rounds or (1 if args.quick else 3)
    print(f"{'workload':<10}{'dtype':<9}{'contender':<11}{'ms/step':>9}{'ratio':>8}"
          f"{'peak RSS MB':>13}{'above imports MB':>19}{'traced MB':>16}  checked")
    for workload in workloads:
        label = LABELS[workload]
        for dtype in dtypes:
            timings = {c: [] for c in contenders}
            ratios = {c: [] for c in contenders}
            errors, ok = {}, {c: True for c in contenders}
            for _ in range(rounds):
                base = None
                for contender in contenders:
                    r = run_child(workload, contender, dtype, steps, repeats)
                    if "error" in r:
                        errors[contender] = r["error"]
                        continue
                    ok[contender] &= r["ok"]
                    timings[contender].append(r["median"])
                    base = r["median"] if contender == "numpy" else base
                    if base:
                        ratios[contender].append(r["median"] / base)
            numpy_memory = {}
            for contender in contenders:
                if contender in errors:
                    print(f"{label:<10}{dtype:<9}{contender:<11}  error: {errors[contender]}")
                    continue
                m = run_child("memory", workload, contender, dtype)
                if contender == "numpy" and "error" not in m:
                    numpy_memory = m
                ms = _median(timings[contender]) * 1000
                ratio = f"{_median(ratios[contender]):.2f}" if ratios[contender] else "-"
                if "error" in m:
                    memory = f"  memory: {m['error']}"
                else:
                    above = _with_ratio(m, numpy_memory, "above_imports_mb", 1)
                    traced = _with_ratio(m, numpy_memory, "traced_mb", 2)
                    memory = f"{m['rss_mb']:13.1f}{above:>19}{traced:>16}"
                print(f"{label:<10}{dtype:<9}{contender:<11}{ms:9.2f}{ratio:>8}{memory}  "
                      f"{'same loss and gradients' if ok[contender] else 'MISMATCH'}")


if __name__ == "__main__":
    main()
