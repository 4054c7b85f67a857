"""scale_early: c * (A @ B) becomes A @ (c * B) (or (c * A) @ B) when that factor is at
most half the product's size; the product and the update are then one pass each, and
values, gradients and training steps are those of the plain Program."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.compiler import compile_steps


def _report(fetches, feeds, disable=()):
    program, steps = compile_steps(fetches, feeds, disable=disable)
    (step,) = [s for s in steps if s.name == "scale_early"]
    return program, step.report


def _mlp_layer(rows=6, inputs=30, units=12, dtype="float64", seed=0):
    """A first layer as W1's: the weight's gradient x.T @ d is (inputs, units), bigger than d."""
    rng = np.random.default_rng(seed)
    x = sg.Placeholder((rows, inputs), dtype=dtype, name="x")
    w = sg.Variable(rng.normal(size=(inputs, units)).astype(dtype) * 0.3, name="w")
    loss = sg.sum(sg.tanh(x @ w) ** 2, name="loss")
    return x, w, loss, {x: rng.normal(size=(rows, inputs)).astype(dtype)}


def _elementwise_passes_over(program, shape):
    """The kernels (fused steps counted one by one) that run over a whole `shape` array."""
    passes = 0
    for inst in program.instructions:
        if inst.shape == shape and inst.op.name != "matmul" and inst.op.name != "assign":
            passes += len(inst.attrs.get("steps", ())) or 1
    return passes


def test_the_learning_rate_scales_the_layers_gradient_not_the_weights_gradient():
    x, w, loss, feeds = _mlp_layer()
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    program, report = _report([loss, train], feeds)
    assert [c.rule for c in report.changes if c.kind == "replaced"] == ["scale-the-smaller-factor"]
    scaled = [inst for inst in program.instructions if inst.name.endswith("/scaled_factor")]
    assert [inst.shape for inst in scaled] == [(6, 12)]  # d, not the (30, 12) gradient
    # the update is then one pass over the weight's shape (w - product), not two
    plain, _ = compile_steps([loss, train], feeds, disable=["scale_early"])
    assert _elementwise_passes_over(program, (30, 12)) == 1
    assert _elementwise_passes_over(plain, (30, 12)) == 2


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_training_steps_are_those_of_the_plain_program(dtype):
    x, w, loss, feeds = _mlp_layer(dtype=dtype)
    train = sg.optim.SGD(lr=0.05).minimize(loss)
    runs = {}
    for disable in ((), ("scale_early",)):
        with sg.Session(disable=disable) as sess:
            runs[disable] = [sess.run([loss, train], feeds)[0] for _ in range(4)] + [sess.run(w)]
    tol = 1e-12 if dtype == "float64" else 1e-5
    for a, b in zip(runs[()], runs[("scale_early",)]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert runs[()][3] < runs[()][0]  # it trains


def _left_alone(fetches, feeds):
    _, report = _report(fetches, feeds)
    return not report.changed


def test_a_fetched_or_shared_product_is_left_alone():
    x, w, loss, feeds = _mlp_layer()
    (grad,) = sg.gradients(loss, [w])
    assert _left_alone([grad * 0.1, grad], feeds)  # the product itself is fetched
    assert _left_alone([grad * 0.1, sg.sum(grad)], feeds)  # and read by something else


def test_a_scale_computed_in_the_run_or_an_array_is_left_alone():
    x, w, loss, feeds = _mlp_layer()
    (grad,) = sg.gradients(loss, [w])
    assert _left_alone([grad * (loss * 0.0 + 0.1)], feeds)  # computed: kept where it is
    assert _left_alone([grad * np.full((30, 12), 0.1)], feeds)  # not one number
    lr = sg.Placeholder((), dtype="float64", name="lr")  # fed: known before the run
    feeds[lr] = 0.1
    assert not _left_alone([grad * lr], feeds)


def test_factors_no_smaller_than_half_the_product_are_left_alone():
    rng = np.random.default_rng(0)
    a = sg.Placeholder((8, 8), dtype="float64", name="a")
    b = sg.Placeholder((8, 8), dtype="float64", name="b")
    feeds = {a: rng.normal(size=(8, 8)), b: rng.normal(size=(8, 8))}
    assert _left_alone([0.5 * (a @ b)], feeds)  # square: nothing smaller to scale
    c = sg.Placeholder((8, 4), dtype="float64", name="c")  # half the (8, 8) product
    feeds[c] = rng.normal(size=(8, 4))
    assert not _left_alone([0.5 * (c @ sg.transpose(c))], feeds)


def test_the_smaller_factor_is_the_one_scaled():
    rng = np.random.default_rng(0)
    a = sg.Placeholder((20, 3), dtype="float64", name="a")  # 60 numbers
    b = sg.Placeholder((3, 30), dtype="float64", name="b")  # 90
    feeds = {a: rng.normal(size=(20, 3)), b: rng.normal(size=(3, 30))}
    for fetch, scaled_shape in ((0.5 * (a @ b), (20, 3)), (0.5 * (sg.transpose(b) @ sg.transpose(a)), (3, 20))):
        program, _ = _report([fetch], feeds)
        scaled = [i.shape for i in program.instructions if i.name.endswith("/scaled_factor")]
        assert scaled == [scaled_shape]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 9), k=st.integers(1, 9), m=st.integers(1, 9),
    scale_first=st.booleans(), seed=st.integers(0, 2**16),
)
def test_values_and_gradients_equal_the_plain_programs(n, k, m, scale_first, seed):
    rng = np.random.default_rng(seed)
    a = sg.Placeholder((n, k), dtype="float64", name="a")
    b = sg.Variable(rng.normal(size=(k, m)), name="b")
    product = a @ b
    scaled = 0.37 * product if scale_first else product * 0.37
    loss = sg.sum(sg.tanh(scaled))
    (grad,) = sg.gradients(loss, [b])
    fetches = [scaled * 1.0, loss, grad * 0.25]  # grad * 0.25 is itself c * (A @ B)
    feeds = {a: rng.normal(size=(n, k))}
    with sg.Session() as sess:
        runs = [sess.run(fetches, feeds) for _ in range(3)]  # the 2nd and 3rd: generated code
    with sg.Session(disable="all") as sess:
        plain = sess.run(fetches, feeds)
    for got in runs:
        for x, y in zip(got, plain):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_factors_of_unknown_size_are_left_alone():
    """Compiled without feed shapes, x.T @ d contracts over a None batch: the sizes to
    compare are not known, so nothing is moved (this crashed: found by a bug hunt)."""
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    w = sg.Variable(np.ones((3, 2)), name="w")
    loss = sg.sum(sg.tanh(x @ w))
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    program, steps = compile_steps([loss, train], [x])
    (report,) = [s.report for s in steps if s.name == "scale_early"]
    assert not report.changed
    (value, _), _ = program.run({x: np.ones((4, 3))}, {w: w.initial_value})
    assert value == pytest.approx(8 * np.tanh(3.0))
