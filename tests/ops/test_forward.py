"""Every case of the op table, run by a Session, gives what NumPy gives, in float64 and float32,
and the shape and dtype the Node promised when it was built are those of the value it runs to."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import symgraph as sg

from .op_table import CASES, ELEMENTWISE, FLOAT_DTYPES, run_case

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


# Operands of every kind: arrays of five dtypes, and weak Python numbers.
OPERAND_KINDS = {
    "float32": np.array([0.5, 1.0, 2.0], "float32"),
    "float64": np.array([0.5, 1.0, 2.0]),
    "int64": np.array([1, 2, 3]),
    "int32": np.array([1, 2, 3], "int32"),
    "bool": np.array([True, False, True]),
    "python int": 2,
    "python float": 2.5,
    "python bool": True,  # NumPy's weak kinds are int, float and complex: bool was refused
}


@pytest.mark.parametrize("entry", ELEMENTWISE, ids=lambda e: e.op)
def test_dtype_rule_matches_the_kernel_for_every_operand_kind(entry):
    """Each mix of operand kinds either raises ShapeError when built, or runs to the
    very dtype the Node promised (the rule asks NumPy's own promotion, weak scalars too)."""
    kinds = [["bool"] if d == "bool" else list(OPERAND_KINDS) for d in entry.domains]
    # (an op of Python numbers only is not what this is about)
    combos = [c for c in itertools.product(*kinds) if not all(k.startswith("py") for k in c)]
    mismatches, ran = [], 0
    for combo in combos:
        graph = sg.Graph()
        with graph.as_default():
            feed, args = {}, []
            for kind in combo:
                value = OPERAND_KINDS[kind]
                if isinstance(value, np.ndarray):
                    placeholder = sg.Placeholder((3,), dtype=value.dtype)
                    feed[placeholder] = value
                    args.append(placeholder)
                else:
                    args.append(value)
            try:
                node = entry.fn(*args)
            except sg.ShapeError:
                continue
        with np.errstate(all="ignore"):
            actual = np.asarray(sg.Session(graph).run(node, feed))
        ran += 1
        if actual.dtype != node.dtype:
            mismatches.append(f"{combo}: built {node.dtype}, ran to {actual.dtype}")
    assert not mismatches, "\n".join(mismatches)
    assert ran >= len(combos) / 2  # most mixes are valid: the check was not vacuous


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


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64", "bool"])
def test_a_python_bool_mixes_with_any_node_as_numpy_mixes_it(dtype):
    """x + True was a ShapeError ('add is not defined for float32 and bool'): NumPy takes
    only int, float and complex as weak Python scalars (found by a bug hunt)."""
    x = sg.Placeholder((2,), dtype=dtype, name="x")
    value = np.array([1, 0]).astype(dtype)
    for fn, ref in [(lambda a, b: a * b, np.multiply), (sg.maximum, np.maximum),
                    (lambda a, b: a > b, np.greater)]:
        node = fn(x, True)
        expected = ref(value, True)
        actual = sg.Session().run(node, {x: value})
        assert node.dtype == np.asarray(actual).dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
