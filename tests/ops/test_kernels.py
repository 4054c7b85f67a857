"""An op's kernel (what a Program calls) gives exactly what its forward gives.

Some ops hand the Program a quicker callable than `forward`: sum and max call
NumPy's `ufunc.reduce` directly instead of np.sum and np.max, which are Python
wrappers around it. Here they must agree bit for bit, in dtype, in type (a 0-d
answer is a NumPy scalar, or the `out=` buffer when one is given) and in errors.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.base import REGISTRY

#: ops whose kernel is not their forward with the attrs bound
QUICK_KERNELS = ["sum", "max"]

DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]

#: (shape, axis) pairs, axes as the ops store them: None or a sorted tuple of axes
SHAPES_AND_AXES = [
    ((), None),
    ((), (0,)),
    ((5,), None),
    ((5,), (0,)),
    ((2, 3), None),
    ((2, 3), (1,)),
    ((2, 3), (0, 1)),
    ((2, 3, 4), (0, 2)),
    ((0, 3), None),  # empty: sum gives 0, max has no identity and raises
    ((0, 3), (1,)),
]


def _outcome(function, *args, **kwargs):
    """What `function(*args, **kwargs)` returns, or (the error's type, its message)."""
    try:
        return function(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the errors are compared, whatever their type
        return type(e), str(e)


def _values(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 40, size=shape)  # large enough that int8 sums wrap as NumPy's do
    return np.asarray(x > 0) if dtype == "bool" else x.astype(dtype)


@pytest.mark.parametrize("name", QUICK_KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_reduction_kernel_gives_exactly_what_forward_gives(name, dtype):
    op = REGISTRY[name]()
    for (shape, axis), keepdims in itertools.product(SHAPES_AND_AXES, (False, True)):
        x = _values(shape, dtype)
        attrs = {"axis": axis, "keepdims": keepdims}
        kernel = op.kernel(**attrs)
        want = _outcome(op.forward, x, **attrs)
        got = _outcome(kernel, x)
        where = f"{name} of {dtype} {shape}, axis={axis}, keepdims={keepdims}"
        assert type(got) is type(want), where
        if isinstance(want, tuple):  # both raised
            assert got == want, where
            continue
        assert got.dtype == want.dtype and np.shape(got) == np.shape(want), where
        np.testing.assert_array_equal(got, want, err_msg=where)
        # into a buffer, as a Program's memory plan asks
        out_want, out_got = np.empty_like(np.asarray(want)), np.empty_like(np.asarray(want))
        assert op.forward(x, **attrs, out=out_want) is out_want
        assert kernel(x, out=out_got) is out_got
        np.testing.assert_array_equal(out_got, out_want, err_msg=where)


@pytest.mark.parametrize("name", QUICK_KERNELS)
def test_a_reduction_kernel_takes_numpy_and_python_scalars_as_forward_does(name):
    """(Given an `out=` buffer too, np.sum of a NumPy scalar fills it but answers a new
    scalar, where the kernel answers the buffer, as ufunc.reduce does; same value.)"""
    op = REGISTRY[name]()
    for x in (np.float32(2.5), np.int8(7), 3.0, 4, True):
        want = op.forward(x, axis=None, keepdims=False)
        got = op.kernel(axis=None, keepdims=False)(x)
        assert type(got) is type(want) and got == want


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_the_losses_quick_mean_and_pick_are_numpys_own(dtype):
    """nn._mean and nn._picked stand in for np.mean and np.take_along_axis in the
    cross-entropy kernels, for speed: they must give the very same numbers."""
    from symgraph.ops.nn import _mean, _picked

    rng = np.random.default_rng(0)
    for shape in [(1,), (7,), (128,), (4097,), (3, 5), (0,)]:
        values = rng.normal(size=shape).astype(dtype)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, numpys = _mean(values), np.mean(values)
        assert type(ours) is type(numpys)
        np.testing.assert_array_equal(ours, numpys)
    z = rng.normal(size=(2, 3, 5)).astype(dtype)
    labels = rng.integers(0, 5, (2, 3))
    np.testing.assert_array_equal(_picked(z, labels), np.take_along_axis(z, labels[..., None], -1)[..., 0])


@pytest.mark.parametrize("disable", [(), "all"])
def test_one_element_picked_by_ints_feeds_kernels_that_write_into_out(disable):
    """x[0] was a NumPy scalar, not an array: clip and mean, given out=, wrote into it
    but returned a new scalar, and the run was refused (found by a bug hunt's fuzzer)."""
    x = sg.Placeholder((4,), dtype="float64", name="x")
    m = sg.Placeholder((2, 3), dtype="float32", name="m")
    fetches = [sg.clip(x[0], -0.5, 0.7), sg.mean(x[-1]), sg.clip(m[1, 2], 0.0, 1.0) * 2]
    with sg.Session(disable=disable) as sess:
        for _ in range(2):  # the first run, and the generated code's
            got = sess.run(fetches, {x: np.array([2.0, 1.0, 0.0, -1.0]), m: np.full((2, 3), 0.25, "float32")})
    assert [float(g) for g in got] == [0.7, -1.0, 0.5]
    assert got[2].dtype == np.float32
