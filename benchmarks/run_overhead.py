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
    parser.add_argument("--repeat", type=int, default=5, help="measurements (the median is shown)")
    args = parser.parse_args()

    x = sg.Placeholder((1,), dtype="float64", name="x")
    w = sg.Variable(np.array([2.0]), name="w")
    b = sg.Variable(np.array([0.5]), name="b")
    y = sg.sum(x * w + b)
    xv, wv, bv = np.array([3.0]), np.array([2.0]), np.array([0.5])

    with sg.Session() as sess:
        assert sess.run(y, {x: xv}) == np.sum(xv * wv + bv)
        run = timeit.repeat(lambda: sess.run(y, {x: xv}), number=args.number, repeat=args.repeat)
        f = sess.make_callable(y, [x])
        assert f(xv) == np.sum(xv * wv + bv)
        callable_ = timeit.repeat(lambda: f(xv), number=args.number, repeat=args.repeat)
    direct = timeit.repeat(lambda: np.sum(xv * wv + bv), number=args.number, repeat=args.repeat)

    def median_us(times):
        return sorted(times)[len(times) // 2] / args.number * 1e6

    per_numpy = median_us(direct)
    print(f"NumPy evaluating the same expression:  {per_numpy:7.2f} us per call")
    for label, times in [("Session.run, cached Program", run), ("sess.make_callable", callable_)]:
        us = median_us(times)
        print(f"{label + ':':<38}{us:7.2f} us per call   {us / per_numpy:5.2f}x NumPy")


if __name__ == "__main__":
    main()
