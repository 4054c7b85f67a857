"""The floor under W1: how long its two large matrix products take on their own.

    python benchmarks/floor.py                # float64 and float32
    python benchmarks/floor.py --rounds 5     # medians of 5 rounds, for a busy machine

W1 (benchmarks/workloads.py) must multiply the (128, 784) inputs by the (784, 256)
weights going forward, and the transposed inputs by the (128, 256) gradient going
back. No compiler can skip either: they are the arithmetic of the model. This
script times those two products alone, with NumPy writing into arrays made once
(`out=`, so nothing is allocated), and the hand-written NumPy training step, each
in a fresh process. Their ratio is the fastest W1 can be, as a ratio to NumPy,
for any framework that multiplies with the same BLAS: compare it with
`benchmarks/run.py`'s W1 column. It also prints the products' GFLOP/s, to compare
with what the machine's cores can do at most.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # timing.py, workloads.py: this script's neighbours
from timing import median_seconds  # noqa: E402


def products(dtype: str):
    """(a function computing W1's two large products into arrays made once, their FLOPs)."""
    import numpy as np
    from workloads import mlp_data

    X, _, (W1, _, _, _) = mlp_data(dtype)
    grad = np.random.default_rng(1).normal(size=(X.shape[0], W1.shape[1])).astype(dtype)
    hidden = np.empty((X.shape[0], W1.shape[1]), dtype)  # X @ W1
    weight_grad = np.empty_like(W1)  # X.T @ grad

    def both():
        np.matmul(X, W1, out=hidden)
        np.matmul(X.T, grad, out=weight_grad)
        return hidden, weight_grad

    flops = 2 * 2 * X.shape[0] * X.shape[1] * W1.shape[1]  # two products, a multiply and an add each
    return both, flops


def measure_products(dtype: str, seconds=0.3, repeats=7) -> dict:
    both, flops = products(dtype)
    taken = median_seconds(both, seconds, repeats, warmup=3)
    return {"seconds": taken, "gflops": flops / taken / 1e9}


def measure_numpy(dtype: str) -> dict:
    from workloads import mlp_numpy

    step, _ = mlp_numpy(dtype)
    return {"seconds": median_seconds(step, warmup=3)}


def run_child(what: str, dtype: str) -> dict:
    """Measure in a fresh process, so no allocator state leaks between the two."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, dtype], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{what} ({dtype}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are shown")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, dtype = args.child
        measure = measure_products if what == "products" else measure_numpy
        print(json.dumps(measure(dtype)))
        return

    print("W1's two large matrix products alone, against the hand-written NumPy step")
    print(f"{'dtype':>8} {'products ms':>12} {'GFLOP/s':>8} {'NumPy step ms':>14} {'floor':>6}")
    for dtype in args.dtypes.split(","):
        rounds = [(run_child("products", dtype), run_child("numpy", dtype)) for _ in range(args.rounds)]
        ratios = sorted(p["seconds"] / n["seconds"] for p, n in rounds)
        products = sorted(p["seconds"] for p, _ in rounds)[len(rounds) // 2]
        gflops = sorted(p["gflops"] for p, _ in rounds)[len(rounds) // 2]
        numpy_step = sorted(n["seconds"] for _, n in rounds)[len(rounds) // 2]
        print(
            f"{dtype:>8} {1000 * products:>12.3f} {gflops:>8.1f} {1000 * numpy_step:>14.3f} "
            f"{ratios[len(ratios) // 2]:>6.2f}"
        )
    print("floor: the products' share of NumPy's step (median of each round's own ratio); no")
    print("W1 that multiplies with this BLAS can be faster than that, as a ratio to NumPy")


if __name__ == "__main__":
    main()
