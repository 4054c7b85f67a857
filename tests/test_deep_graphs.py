"""Deep graphs: a chain of 20,000 ops is built, differentiated, compiled and run with
Python's default recursion limit, so nothing in symgraph recurses over graph depth."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

import symgraph as sg

DEPTH = 20_000
PYTHON_DEFAULT_RECURSION_LIMIT = 1000


@pytest.fixture
def default_recursion_limit():
    """Run the test under Python's default limit (whatever pytest set), and check that
    symgraph never raises it behind our back."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(PYTHON_DEFAULT_RECURSION_LIMIT)
    try:
        yield
        assert sys.getrecursionlimit() == PYTHON_DEFAULT_RECURSION_LIMIT
    finally:
        sys.setrecursionlimit(saved)


def _numpy_chain(a):
    """The same chain in NumPy: value and derivative, by the chain rule, step by step."""
    h, d = a.copy(), np.ones_like(a)
    for _ in range(DEPTH):
        h = np.tanh(h)
        d = d * (1.0 - h * h)
    return h.sum(), d


def test_a_chain_of_20000_ops_builds_differentiates_compiles_and_runs(default_recursion_limit):
    times = {}
    start = time.perf_counter()
    x = sg.Placeholder((4,), dtype="float64", name="x")
    h = x
    for _ in range(DEPTH):
        h = sg.tanh(h)
    loss = sg.sum(h)
    times["build"] = time.perf_counter() - start

    start = time.perf_counter()
    (g,) = sg.gradients(loss, [x])
    times["gradients"] = time.perf_counter() - start

    a = np.array([-2.0, -0.3, 0.4, 1.5])
    with sg.Session() as sess:
        start = time.perf_counter()
        value, grad = sess.run([loss, g], {x: a})  # compiles, caches, runs
        times["compile + first run"] = time.perf_counter() - start
        start = time.perf_counter()
        again = sess.run([loss, g], {x: a})
        times["cached run"] = time.perf_counter() - start

    expected_value, expected_grad = _numpy_chain(a)
    assert value == pytest.approx(expected_value, rel=1e-10)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-8)
    assert again[0] == value
    total = sum(times.values())
    print("deep chain of", DEPTH, "tanh:", ", ".join(f"{k} {v:.2f}s" for k, v in times.items()))
    assert total < 60, times  # generous: a budget for slow CI machines, ~10 s on a laptop


def test_a_deep_chain_of_fan_out_stays_linear(default_recursion_limit):
    x = sg.Placeholder((), dtype="float64", name="x")
    h = x
    for _ in range(2_000):
        h = h * 0.5 + h * 0.5  # each step uses h twice: 2**2000 paths
    (g,) = sg.gradients(h, [x])
    with sg.Session() as sess:
        value, grad = sess.run([h, g], {x: 3.0})
    assert value == pytest.approx(3.0) and grad == pytest.approx(1.0)
