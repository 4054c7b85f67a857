"""Dropout: identity unless the training flag is fed True; masks, scale, seeds, gradient."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg


def test_training_flag_is_one_bool_placeholder_per_graph_that_defaults_to_false():
    flag = sg.nn.training_flag()
    assert flag is sg.nn.training_flag()
    assert flag.name == "training" and flag.dtype == np.dtype(bool) and flag.shape == ()
    with sg.Session() as sess:
        assert not sess.run(flag)
        assert sess.run(flag, {flag: True})
    with sg.Graph().as_default() as other:
        assert sg.nn.training_flag() is not flag
        assert sg.nn.training_flag().graph is other


def test_training_flag_is_named_at_the_top_level_even_inside_a_scope():
    with sg.name_scope("model"):
        assert sg.nn.training_flag().name == "training"


def test_dropout_is_the_identity_when_the_training_flag_is_not_fed():
    x = sg.Placeholder((None, 50), dtype="float64", name="x")
    y = sg.nn.Dropout(0.5, seed=0)(x)
    xv = np.random.default_rng(0).normal(size=(20, 50))
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: xv}), xv)
        np.testing.assert_array_equal(sess.run(y, {x: xv, sg.nn.training_flag(): False}), xv)


def test_dropout_in_training_zeros_about_p_and_scales_the_rest_by_one_over_one_minus_p():
    p = 0.3
    x = sg.Placeholder((None, 1000), dtype="float64", name="x")
    y = sg.nn.Dropout(p, seed=1)(x)
    xv = np.random.default_rng(1).uniform(1.0, 2.0, size=(100, 1000))  # never 0 itself
    with sg.Session() as sess:
        out = sess.run(y, {x: xv, sg.nn.training_flag(): True})
    kept = out != 0
    assert abs((1 - kept.mean()) - p) < 0.01  # 100,000 draws: std of the fraction is 0.0015
    np.testing.assert_allclose(out[kept], xv[kept] / (1 - p), rtol=1e-15)


def test_dropout_keeps_float32_and_its_exact_scale():
    x = sg.Placeholder((4, 500), name="x")
    y = sg.nn.Dropout(0.5, seed=2)(x)
    with sg.Session() as sess:
        out = sess.run(y, {x: np.ones((4, 500), "float32"), sg.nn.training_flag(): True})
    assert out.dtype == np.float32
    assert set(np.unique(out)) == {np.float32(0.0), np.float32(2.0)}


def test_dropout_with_p_zero_keeps_everything_even_in_training():
    x = sg.Placeholder((10, 10), dtype="float64", name="x")
    y = sg.nn.Dropout(0.0, seed=3)(x)
    xv = np.random.default_rng(3).normal(size=(10, 10))
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: xv, sg.nn.training_flag(): True}), xv)


def test_dropout_rejects_p_outside_zero_to_one():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="Dropout probability"):
            sg.nn.Dropout(p)


def _masks(make_dropout, runs=3):
    """The keep-masks of `runs` training runs of a fresh graph's Dropout layer."""
    with sg.Graph().as_default():
        x = sg.Placeholder((8, 8), name="x")
        y = make_dropout()(x)
        with sg.Session() as sess:
            feed = {x: np.ones((8, 8), "float32"), sg.nn.training_flag(): True}
            return [sess.run(y, feed) != 0 for _ in range(runs)]


def test_dropout_draws_a_new_mask_on_every_run():
    masks = _masks(lambda: sg.nn.Dropout(0.5, seed=4))
    assert not np.array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[1], masks[2])


def test_the_same_seed_gives_the_same_masks_in_a_fresh_graph():
    a = _masks(lambda: sg.nn.Dropout(0.5, seed=5))
    b = _masks(lambda: sg.nn.Dropout(0.5, seed=5))
    c = _masks(lambda: sg.nn.Dropout(0.5, seed=6))
    assert all(np.array_equal(m, n) for m, n in zip(a, b))
    assert not all(np.array_equal(m, n) for m, n in zip(a, c))


def test_an_rng_argument_gives_the_same_masks_in_a_fresh_graph():
    a = _masks(lambda: sg.nn.Dropout(0.5, rng=np.random.default_rng(7)))
    b = _masks(lambda: sg.nn.Dropout(0.5, rng=np.random.default_rng(7)))
    assert all(np.array_equal(m, n) for m, n in zip(a, b))


def test_init_seed_fixes_the_masks_of_a_dropout_given_no_seed():
    def seeded(n):
        sg.nn.init.seed(n)
        return _masks(lambda: sg.nn.Dropout(0.5))

    a, b = seeded(8), seeded(8)
    assert all(np.array_equal(m, n) for m, n in zip(a, b))


def test_dropout_gradient_flows_only_through_the_kept_elements_scaled():
    p = 0.25
    x = sg.Placeholder((6, 40), dtype="float64", name="x")
    y = sg.nn.Dropout(p, seed=9)(x)
    w = np.random.default_rng(9).uniform(0.5, 1.5, size=(6, 40))
    (g,) = sg.gradients(sg.sum(y * sg.Constant(w)), [x])
    xv = np.ones((6, 40))
    with sg.Session() as sess:
        out, grad = sess.run([y, g], {x: xv, sg.nn.training_flag(): True})  # one mask for both
        kept = out != 0
        assert 0 < kept.sum() < kept.size
        np.testing.assert_allclose(grad, np.where(kept, w / (1 - p), 0.0), rtol=1e-15)
        np.testing.assert_allclose(sess.run(g, {x: xv}), w, rtol=1e-15)  # evaluation: identity


def test_evaluation_runs_leave_the_training_masks_as_they_were():
    """Dropout drew its numbers in every run, evaluation runs too (where evaluates both
    branches): evaluating between training steps changed the next masks (found by a bug hunt)."""
    x = sg.Placeholder((1, 50), dtype="float64", name="x")
    out = sg.nn.Dropout(p=0.5, seed=1)(x)
    flag = sg.nn.training_flag()
    ones = np.ones((1, 50))

    def masks(evaluate_between):
        with sg.Session() as sess:
            got = []
            for _ in range(3):
                got.append(sess.run(out, {x: ones, flag: True}))
                if evaluate_between:
                    np.testing.assert_array_equal(sess.run(out, {x: ones}), ones)
            return got

    for a, b in zip(masks(False), masks(True)):
        np.testing.assert_array_equal(a, b)
