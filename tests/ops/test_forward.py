"""Every case of the op table, run by a Session, gives what NumPy gives, in float64 and float32,
and the shape and dtype the Node promised when it was built are those of the value it runs to."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

from .op_table import CASES, FLOAT_DTYPES, run_case

TOLERANCE = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 2e-5, "atol": 1e-6}}


@pytest.mark.parametrize("float_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case, float_dtype):
    _, actual, arrays = run_case(case, float_dtype)
    expected = np.asarray(case.ref(*arrays))
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, **TOLERANCE[float_dtype])
    else:
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("float_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_built_shape_and_dtype_are_those_the_kernel_gives(case, float_dtype):
    node, actual, _ = run_case(case, float_dtype)
    assert node.dtype == actual.dtype
    assert len(node.shape) == actual.ndim, f"built {node.shape}, ran to {actual.shape}"
    for built, ran in zip(node.shape, actual.shape):
        assert built is None or built == ran, f"built {node.shape}, ran to {actual.shape}"


def test_a_float32_times_a_python_float_stays_float32():
    x = sg.Placeholder((2,), dtype="float32")
    y = x * 2.0
    assert y.dtype == np.float32
    value = sg.Session().run(y, {x: np.ones(2, "float32")})
    assert value.dtype == np.float32


def test_int64_divided_by_int64_is_float64():
    a = sg.Placeholder((2,), dtype="int64")
    b = sg.Placeholder((2,), dtype="int64")
    q = a / b
    assert q.dtype == np.float64
    value = sg.Session().run(q, {a: [1, 3], b: [2, 2]})
    np.testing.assert_array_equal(value, [0.5, 1.5])
    assert value.dtype == np.float64


def test_float32_plus_a_float64_array_is_float64_as_in_numpy():
    x = sg.Placeholder((2,), dtype="float32")
    y = x + np.ones(2)  # an array is not a weak Python number: it promotes
    assert y.dtype == np.float64
    assert sg.Session().run(y, {x: np.ones(2, "float32")}).dtype == np.float64


def test_unknown_dims_stay_unknown_until_run():
    x = sg.Placeholder((None, 3), dtype="float64")
    y = sg.sum(x @ np.ones((3, 2)), axis=1)
    assert y.shape == (None,)
    assert sg.Session().run(y, {x: np.ones((5, 3))}).shape == (5,)
