"""The benchmark harness (benchmarks/): the workloads it times compute what the
hand-written NumPy versions compute, and its command line takes the issue's names.

The timings themselves are never asserted here (see docs/guides/speed.md)."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _module(name):
    if BENCHMARKS not in sys.path:
        sys.path.insert(0, BENCHMARKS)  # run.py imports workloads.py as its neighbour does
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", os.path.join(BENCHMARKS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def workloads():
    return _module("workloads")


@pytest.fixture(scope="module")
def run():
    return _module("run")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model", ["mlp", "rnn"])
def test_symgraph_workload_matches_numpy(workloads, model, dtype):
    """Same loss and gradients, then the same loss after two training steps each."""
    kwargs = {} if model == "mlp" else {"steps": 5, "batch": 4}
    numpy_step, numpy_grads = getattr(workloads, f"{model}_numpy")(dtype, **kwargs)
    sg_step, sg_grads = getattr(workloads, f"{model}_symgraph")(dtype, **kwargs)
    tol = 1e-10 if dtype == "float64" else 1e-4
    loss, grads = sg_grads()
    ref_loss, ref_grads = numpy_grads()
    np.testing.assert_allclose(loss, ref_loss, rtol=tol, atol=tol)
    for g, r in zip(grads, ref_grads):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)
    for _ in range(2):
        np.testing.assert_allclose(sg_step(), numpy_step(), rtol=tol, atol=tol)


def test_run_takes_the_issues_workload_names(run):
    assert run._chosen("W1,w2", run.WORKLOADS, "workload") == ["mlp", "rnn"]
    assert run._chosen("rnn", run.WORKLOADS, "workload") == ["rnn"]
    assert run._chosen(" float32 ", {d: d for d in run.DTYPES}, "dtype") == ["float32"]


def test_run_names_an_unknown_workload(run):
    with pytest.raises(SystemExit, match="unknown workload 'W3'.*w1, w2"):
        run._chosen("W1,W3", run.WORKLOADS, "workload")


def test_run_prints_memory_with_its_ratio_to_numpy(run):
    numpy_memory = {"traced_mb": 3.5, "above_imports_mb": 10.0}
    assert run._with_ratio({"traced_mb": 5.25}, numpy_memory, "traced_mb", 2) == "5.25 (1.50x)"
    assert run._with_ratio({"traced_mb": None}, numpy_memory, "traced_mb", 2) == "n/a"  # torch
    assert run._with_ratio({"above_imports_mb": 9.0}, {}, "above_imports_mb", 1) == "9.0"


def test_floor_times_w1s_two_large_products(workloads):
    """benchmarks/floor.py times X @ W1 and X.T @ grad, and counts their FLOPs as
    symgraph's own statistics do (MatMul.flops)."""
    import symgraph as sg

    floor = _module("floor")
    both, flops = floor.products("float64")
    X, _, (W1, _, _, _) = workloads.mlp_data("float64")
    hidden, weight_grad = both()
    np.testing.assert_allclose(hidden, X @ W1)
    assert weight_grad.shape == W1.shape
    x = sg.Placeholder(X.shape, dtype="float64")
    w = sg.Variable(W1)
    grad = sg.Placeholder(hidden.shape, dtype="float64")
    forward, backward = x @ w, sg.transpose(x) @ grad
    assert flops == sum(node.op.flops(node) for node in (forward, backward))
    measured = floor.measure_products("float32", seconds=0.001, repeats=1)
    assert measured["gflops"] > 0 and measured["seconds"] > 0
