"""How long one Session.run of a tiny cached graph takes, against NumPy doing the same.

    python benchmarks/run_overhead.py

The graph is y = sum(x * w + b) on 1-element arrays, so the arithmetic is
nothing and what is measured is symgraph's own cost per run: checking the
feeds, finding the cached Program, running its instructions, copying the
answer out. Reported in microseconds per call and as a ratio to NumPy.
"""

import argparse
import os
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a clone, uninstalled

import symgraph as sg  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per measurement")
    parser.add_argument("--repeat", type=int, default=7, help="measurements (the median is shown)")
    args = parser.parse_args()

    x = sg.Placeholder((1,), dtype="float64", name="x")
    w = sg.Variable(np.array([2.0]), name="w")
    b = sg.Variable(np.array([0.5]), name="b")
    y = sg.sum(x * w + b)
    xv, wv, bv = np.array([3.0]), np.array([2.0]), np.array([0.5])

    with sg.Session() as sess:
        f = sess.make_callable(y, [x])
        contenders = {
            "NumPy evaluating the same expression": lambda: np.sum(xv * wv + bv),
            "Session.run, cached Program": lambda: sess.run(y, {x: xv}),
            "sess.make_callable": lambda: f(xv),
        }
        for call in contenders.values():  # the same answer; and compiled, cached, warmed up
            for _ in range(3):
                assert call() == np.sum(xv * wv + bv)
        # Measured in turns, one measurement of each per round: on a busy machine, a burst of
        # other work then slows all three alike, not one of them, and the ratios hold.
        times = {label: [] for label in contenders}
        for _ in range(args.repeat):
            for label, call in contenders.items():
                times[label].append(timeit.timeit(call, number=args.number))

    def median_us(label):
        runs = sorted(times[label])
        return runs[len(runs) // 2] / args.number * 1e6

    numpy_label, *others = contenders
    per_numpy = median_us(numpy_label)
    print(f"{numpy_label + ':':<38}{per_numpy:7.2f} us per call")
    for label in others:
        us = median_us(label)
        print(f"{label + ':':<38}{us:7.2f} us per call   {us / per_numpy:5.2f}x NumPy")


if __name__ == "__main__":
    main()
