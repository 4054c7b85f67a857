"""nn.init: the distributions' bounds and moments, shapes, dtypes, and reproducible seeding."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.nn import init


def test_glorot_uniform_stays_within_its_bound_and_reaches_near_it():
    init.seed(0)
    w = init.glorot_uniform((30, 20))
    limit = np.sqrt(6.0 / (30 + 20))
    assert w.shape == (30, 20) and w.dtype == np.float32
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.95 * limit  # 600 draws: the extremes get close to the bound
    # uniform on [-a, a]: mean 0 and std a / sqrt(3); 600 draws put the mean within ~0.024 a
    assert abs(w.mean()) < 0.1 * limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.1 * limit


def test_glorot_uniform_gain_scales_the_bound_and_dtype_is_kept():
    w = init.glorot_uniform((10, 6), dtype="float64", gain=2.0)
    assert w.dtype == np.float64
    assert np.abs(w).max() <= 2.0 * np.sqrt(6.0 / 16)


def test_normal_has_the_requested_mean_and_std():
    init.seed(0)
    w = init.normal((300, 300), std=0.5, mean=2.0)
    assert w.shape == (300, 300) and w.dtype == np.float32
    assert abs(w.mean() - 2.0) < 0.01  # 90,000 draws: std of the mean is 0.0017
    assert abs(w.std() - 0.5) < 0.01


def test_zeros_has_the_shape_and_dtype_asked_for():
    assert init.zeros(5).shape == (5,)
    z = init.zeros((2, 3), dtype="float64")
    assert z.shape == (2, 3) and z.dtype == np.float64 and not z.any()


def test_seed_makes_two_draws_equal():
    init.seed(123)
    a = (init.glorot_uniform((4, 3)), init.normal(5))
    init.seed(123)
    b = (init.glorot_uniform((4, 3)), init.normal(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    init.seed(124)
    assert not np.array_equal(init.glorot_uniform((4, 3)), a[0])


def test_seed_makes_a_models_initial_weights_reproducible():
    def weights():
        init.seed(7)
        with sg.Graph().as_default():
            net = sg.nn.Sequential(sg.nn.Linear(3, 4), sg.nn.Embedding(5, 2), sg.nn.RNNCell(2, 3))
            return [p.initial_value for p in net.parameters()]

    for a, b in zip(weights(), weights()):
        np.testing.assert_array_equal(a, b)


def test_an_rng_argument_is_used_and_leaves_the_shared_generator_alone():
    limit = np.sqrt(6.0 / 7)
    want = np.random.default_rng(3).uniform(-limit, limit, size=(4, 3)).astype("float32")
    init.seed(0)
    np.testing.assert_array_equal(init.glorot_uniform((4, 3), rng=np.random.default_rng(3)), want)
    np.testing.assert_array_equal(
        init.normal(4, rng=np.random.default_rng(3)),
        np.random.default_rng(3).normal(0.0, 1.0, size=4).astype("float32"),
    )
    after_rng_draws = init.normal(6)
    init.seed(0)
    np.testing.assert_array_equal(init.normal(6), after_rng_draws)


def test_layers_pass_their_rng_on_to_init():
    a = sg.nn.Linear(3, 2, rng=np.random.default_rng(11))
    b = sg.nn.Linear(3, 2, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(a.weight.initial_value, b.weight.initial_value)
    e1 = sg.nn.Embedding(4, 2, rng=np.random.default_rng(12))
    e2 = sg.nn.Embedding(4, 2, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(e1.weight.initial_value, e2.weight.initial_value)
    c1 = sg.nn.RNNCell(2, 3, rng=np.random.default_rng(13))
    c2 = sg.nn.RNNCell(2, 3, rng=np.random.default_rng(13))
    np.testing.assert_array_equal(c1.weight_hh.initial_value, c2.weight_hh.initial_value)

def test_an_int_rng_is_a_seed_for_every_layer():
    """As sg.data.batches takes it: Linear(..., rng=0) used to ignore the 0 (rng or shared)
    and fail for any other int."""
    a, b, c = (sg.nn.Linear(3, 2, rng=r) for r in (0, 0, 1))
    np.testing.assert_array_equal(a.weight.initial_value, b.weight.initial_value)
    assert not np.array_equal(a.weight.initial_value, c.weight.initial_value)
    cell = sg.nn.RNNCell(3, 3, rng=5)  # one generator for both weights, not the seed twice
    assert not np.array_equal(cell.weight_ih.initial_value, cell.weight_hh.initial_value)
    np.testing.assert_array_equal(
        sg.nn.Embedding(4, 2, rng=7).weight.initial_value, sg.nn.Embedding(4, 2, rng=7).weight.initial_value
    )
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, an int seed or None"):
        sg.nn.Linear(3, 2, rng="0")
