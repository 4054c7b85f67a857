"""Hypothesis draws the shapes and axes; the op table's ELEMENTWISE and AXIS_OPS entries say
what to compute and from which domain to draw the values.

For any broadcast-compatible shapes (up to 3 dims of up to 4), every elementwise op
agrees with NumPy, value, shape and dtype, and its gradient agrees with central
differences; for any axis (None, an int, a tuple, negative ones) and keepdims, so does
every reduction. The number of examples comes from the hypothesis profile that
tests/conftest.py loads ("ci": derandomized, the same examples on every run).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import symgraph as sg

from .op_table import AXIS_OPS, ELEMENTWISE, Case, Input, run_case

SEEDS = st.integers(0, 2**32 - 1)


def _check_forward_and_gradient(case, seed, differentiable):
    node, actual, arrays = run_case(case, "float64", seed)
    expected = np.asarray(case.ref(*arrays))
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype == node.dtype
    assert node.shape == actual.shape
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_array_equal(actual, expected)
    if differentiable:
        assert sg.testing.check_gradients(case.fn, arrays) <= 1.0


@pytest.mark.parametrize("entry", ELEMENTWISE, ids=lambda e: e.op)
@settings(deadline=None)
@given(data=st.data(), seed=SEEDS)
def test_elementwise_op_matches_numpy_for_any_broadcastable_shapes(entry, data, seed):
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=len(entry.domains), min_dims=0, max_dims=3, min_side=1, max_side=4
        ),
        label="shapes",
    ).input_shapes
    case = Case(entry.op, "property", entry.fn, entry.ref, entry.inputs(shapes))
    _check_forward_and_gradient(case, seed, entry.differentiable)


def _axes(entry, ndim):
    """The axis values this op accepts for a tensor of rank ndim."""
    one = st.integers(-ndim, ndim - 1)
    if entry.axes == "one":
        return one
    if entry.axes == "one_or_none":
        return st.none() | one if ndim else st.none()
    return st.none() | hnp.valid_tuple_axes(ndim) | (one if ndim else st.nothing())


@pytest.mark.parametrize("entry", AXIS_OPS, ids=lambda e: e.op)
@settings(deadline=None)
@given(data=st.data(), seed=SEEDS)
def test_reduction_matches_numpy_for_any_axis_and_keepdims(entry, data, seed):
    min_dims = 1 if entry.axes == "one" else 0
    shape = data.draw(
        hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4), label="shape"
    )
    axis = data.draw(_axes(entry, len(shape)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims") if entry.keepdims else False

    case = Case(
        entry.op,
        "property",
        lambda x: entry.fn(x, axis, keepdims),
        lambda a: entry.ref(a, axis=axis, keepdims=keepdims),
        (Input(shape, entry.domain),),
    )
    _check_forward_and_gradient(case, seed, entry.differentiable)


@settings(deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=2, min_side=1, max_side=4
    ),
    seed=SEEDS,
)
def test_matmul_matches_numpy_for_any_vectors_matrices_and_stacks(shapes, seed):
    """np.matmul's own signature, (n?,k),(k,m?)->(n?,m?), draws the operands: vectors,
    matrices, and stacks whose batch dims broadcast; values and gradients agree."""
    a, b = shapes.input_shapes
    case = Case("matmul", "property", sg.matmul, np.matmul, (Input(a), Input(b)))
    _check_forward_and_gradient(case, seed, differentiable=True)
