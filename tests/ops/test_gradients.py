"""Every differentiable case of the op table has a gradient that agrees with central
differences (float64, inputs from the case's domains); the others refuse to give one."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.base import REGISTRY

from .op_table import (
    DECLARED_UNKNOWN,
    DIFFERENTIABLE,
    NOT_DIFFERENTIABLE,
    SECOND_ORDER,
    build,
    sample,
    seed_of,
)


def _float_inputs(nodes):
    return [n for n in nodes if n.dtype.kind == "f"]


def _weighted_sum(node, seed=1):
    """sum(node * W) for fixed random W: a scalar whose gradient checks every element."""
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=node.shape)
    return sg.sum(node * sg.Constant(weights.astype(node.dtype)))


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=lambda c: c.id)
def test_gradient_matches_central_differences(case):
    arrays = sample(case.inputs, "float64", seed_of(case.id))
    assert sg.testing.check_gradients(case.fn, arrays, **(case.grad_check or {})) <= 1.0


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.id)
def test_gradient_of_the_gradient_matches_central_differences(case):
    arrays = sample(case.inputs, "float64", seed_of(case.id))

    def first_derivatives(*xs):
        grads = sg.gradients(_weighted_sum(case.fn(*xs)), _float_inputs(xs))
        total = _weighted_sum(grads[0], seed=2)
        for i, g in enumerate(grads[1:]):
            total = total + _weighted_sum(g, seed=3 + i)
        return total

    assert sg.testing.check_gradients(first_derivatives, arrays) <= 1.0


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=lambda c: c.id)
def test_gradient_of_a_float32_input_is_float32_and_shaped_like_it(case):
    arrays = sample(case.inputs, "float32", seed_of(case.id))
    graph = sg.Graph()
    with graph.as_default():
        placeholders, node = build(case, "float32")
        xs = _float_inputs(placeholders)
        grads = sg.gradients(sg.sum(node), xs)
    feed = dict(zip(placeholders, arrays))
    values = sg.Session(graph).run(grads, feed)
    for x, g, value in zip(xs, grads, values):
        assert g.dtype == np.float32 and np.asarray(value).dtype == np.float32, x.name
        assert np.shape(value) == feed[x].shape, x.name


@pytest.mark.parametrize(
    "case", [c for c in DECLARED_UNKNOWN if c.differentiable], ids=lambda c: c.id
)
def test_gradient_with_unknown_dims_equals_gradient_with_known_dims(case):
    """Gradients through None dims read sizes at run time (reshape/broadcast_to `like`,
    reduced_count); they must give what the same graph with every dim known gives."""
    arrays = sample(case.inputs, "float64", seed_of(case.id))
    results = []
    for declared in (True, False):
        graph = sg.Graph()
        with graph.as_default():
            placeholders = [
                sg.Placeholder(spec.placeholder_shape if declared else spec.shape,
                               dtype=a.dtype, name=f"in{i}")
                for i, (spec, a) in enumerate(zip(case.inputs, arrays))
            ]
            out = case.fn(*placeholders)
            feed = dict(zip(placeholders, arrays))
            out_shape = sg.Session(graph).run(out, feed).shape
            weights = np.random.default_rng(0).uniform(0.5, 1.5, out_shape)
            grads = sg.gradients(sg.sum(out * weights), _float_inputs(placeholders))
        results.append(sg.Session(graph).run(grads, feed))
    for unknown, known in zip(*results):
        np.testing.assert_allclose(unknown, known, rtol=1e-12, atol=1e-12)


# -- ops without a gradient -------------------------------------------------------------------
def _stops_gradients(case) -> bool:
    """The op itself has no gradient (not merely integer inputs, as in int64 / int64).

    assign and group are left out: an update Node cannot be an op's input, so no
    gradient can reach them (test_graph.py).
    """
    floats = [i for i in case.inputs if i.dtype_for("float64").kind == "f"]
    has_inputs = bool(case.inputs) and case.op not in ("group", "assign")
    return has_inputs and (not REGISTRY[case.op].differentiable or bool(floats))


@pytest.mark.parametrize(
    "case", [c for c in NOT_DIFFERENTIABLE if _stops_gradients(c)], ids=lambda c: c.id
)
def test_gradient_through_an_op_without_one_raises_naming_the_op(case):
    placeholders, node = build(case, "float64")
    y = sg.sum(sg.cast(node, "float64"))
    xs = _float_inputs(placeholders)
    if not xs:  # one_hot has only integer inputs, and integers have no gradient at all
        with pytest.raises(sg.GradientError, match="only float values have gradients"):
            sg.gradients(y, placeholders)
        return
    with pytest.raises(sg.GradientError) as info:
        sg.gradients(y, xs)
    message = str(info.value)
    assert f"({case.op})" in message and "no gradient" in message, message


def test_gradient_through_argmax_raises_naming_argmax():
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    with pytest.raises(sg.GradientError, match=r"only through argmax \(argmax\)"):
        sg.gradients(sg.sum(sg.cast(sg.argmax(x), "float64")), [x])


# -- higher order --------------------------------------------------------------------------------
def _derivatives(f, x_value, order):
    x = sg.Placeholder(np.shape(x_value), dtype="float64", name="x")
    d = f(x)
    for _ in range(order):
        (d,) = sg.gradients(sg.sum(d), [x])
    return sg.Session().run(d, {x: x_value})


def test_second_derivative_of_cube_is_six_x():
    x = np.array([-1.5, 0.5, 2.0])
    np.testing.assert_allclose(_derivatives(lambda v: v**3, x, 2), 6 * x, rtol=1e-12)


def test_third_derivative_of_cube_is_six():
    x = np.array([-1.5, 0.5, 2.0])
    np.testing.assert_allclose(_derivatives(lambda v: v**3, x, 3), [6.0, 6.0, 6.0], rtol=1e-12)


def test_second_derivative_of_tanh_is_minus_two_tanh_times_its_derivative():
    x = np.array([-1.0, 0.3, 2.0])
    t = np.tanh(x)
    np.testing.assert_allclose(_derivatives(sg.tanh, x, 2), -2 * t * (1 - t**2), rtol=1e-12)


def test_second_derivative_of_sigmoid_is_s_times_one_minus_s_times_one_minus_two_s():
    x = np.array([-1.0, 0.3, 2.0])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(_derivatives(sg.sigmoid, x, 2), s * (1 - s) * (1 - 2 * s),
                               rtol=1e-12)


def test_hessian_vector_product_of_softmax_matches_central_differences():
    def grad_of_weighted_softmax(x):
        (g,) = sg.gradients(_weighted_sum(sg.softmax(x)), [x])
        return g

    x = np.random.default_rng(0).normal(size=(2, 4))
    assert sg.testing.check_gradients(grad_of_weighted_softmax, [x]) <= 1.0


# -- conventions at ties and kinks (not checkable by finite differences) -------------------------
def _gradient_at(f, value):
    x = sg.Placeholder(np.shape(value), dtype="float64", name="x")
    (g,) = sg.gradients(sg.sum(f(x)), [x])
    return sg.Session().run(g, {x: value})


def test_max_shares_the_gradient_equally_between_tied_elements():
    np.testing.assert_array_equal(_gradient_at(sg.max, [1.0, 3.0, 3.0]), [0.0, 0.5, 0.5])


def test_max_over_an_axis_shares_ties_per_row():
    g = _gradient_at(lambda x: sg.max(x, axis=1), [[2.0, 2.0, 1.0], [0.0, 5.0, 1.0]])
    np.testing.assert_array_equal(g, [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])


def test_maximum_sends_a_tie_to_its_first_input():
    a = sg.Placeholder((2,), dtype="float64")
    b = sg.Placeholder((2,), dtype="float64")
    ga, gb = sg.gradients(sg.sum(sg.maximum(a, b)), [a, b])
    values = sg.Session().run([ga, gb], {a: [1.0, 2.0], b: [1.0, 3.0]})
    np.testing.assert_array_equal(values[0], [1.0, 0.0])
    np.testing.assert_array_equal(values[1], [0.0, 1.0])


def test_relu_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(_gradient_at(sg.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_embedding_gradient_adds_up_the_rows_of_a_repeated_id():
    params = sg.Placeholder((3, 2), dtype="float64")
    ids = sg.Placeholder((4,), dtype="int64")
    (g,) = sg.gradients(sg.sum(sg.embedding_lookup(params, ids)), [params])
    value = sg.Session().run(g, {params: np.zeros((3, 2)), ids: [2, 0, 2, 2]})
    np.testing.assert_array_equal(value, [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot_over_batch():
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = np.array([1, 2])
    z = sg.Placeholder((2, 3), dtype="float64")
    y = sg.Placeholder((2,), dtype="int64")
    (g,) = sg.gradients(sg.softmax_cross_entropy(z, y), [z])
    e = np.exp(logits - logits.max(1, keepdims=True))
    expected = (e / e.sum(1, keepdims=True) - np.eye(3)[labels]) / 2
    np.testing.assert_allclose(sg.Session().run(g, {z: logits, y: labels}), expected, rtol=1e-12)
