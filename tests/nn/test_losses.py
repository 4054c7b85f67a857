"""MSELoss and CrossEntropyLoss: values against NumPy formulas, gradients numerically."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg


@pytest.fixture
def rng():
    """A fresh generator per test, so each test sees the same numbers however it is run."""
    return np.random.default_rng(2024)


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_mse_loss_is_the_mean_of_squared_differences_over_every_element(rng):
    pred = sg.Placeholder((None, 3), dtype="float64", name="pred")
    target = sg.Placeholder((None, 3), dtype="float64", name="target")
    loss = sg.nn.MSELoss()(pred, target)
    assert loss.shape == ()
    p, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    with sg.Session() as sess:
        np.testing.assert_allclose(
            sess.run(loss, {pred: p, target: t}), np.mean((p - t) ** 2), rtol=1e-14
        )


def test_mse_loss_gradients_match_finite_differences(rng):
    sg.testing.check_gradients(
        lambda p, t: sg.nn.MSELoss()(p, t), [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))]
    )


def test_cross_entropy_loss_is_the_batch_mean_of_minus_log_softmax_at_the_label(rng):
    logits = sg.Placeholder((None, 4), dtype="float64", name="logits")
    labels = sg.Placeholder((None,), dtype="int64", name="labels")
    loss = sg.nn.CrossEntropyLoss()(logits, labels)
    assert loss.shape == ()
    z, y = rng.normal(size=(5, 4)), np.array([0, 3, 1, 3, 2])
    want = -np.mean(_log_softmax(z)[np.arange(5), y])
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(loss, {logits: z, labels: y}), want, rtol=1e-14)


def test_cross_entropy_loss_is_finite_for_huge_logits():
    logits = sg.Placeholder((2, 3), dtype="float64", name="logits")
    labels = sg.Placeholder((2,), dtype="int64", name="labels")
    loss = sg.nn.CrossEntropyLoss()(logits, labels)
    (g,) = sg.gradients(loss, [logits])
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]])
    with sg.Session() as sess:
        value, grad = sess.run([loss, g], {logits: z, labels: np.array([2, 1])})
    np.testing.assert_allclose(value, 1000.0, rtol=1e-12)  # (2000 + 0) / 2
    assert np.all(np.isfinite(grad))


def test_cross_entropy_loss_gradients_match_finite_differences(rng):
    sg.testing.check_gradients(
        lambda z, y: sg.nn.CrossEntropyLoss()(z, y),
        [rng.normal(size=(5, 4)), np.array([0, 3, 1, 3, 2])],
    )


def test_cross_entropy_loss_gradient_is_softmax_minus_one_hot_over_batch(rng):
    logits = sg.Placeholder((3, 4), dtype="float64", name="logits")
    labels = sg.Placeholder((3,), dtype="int64", name="labels")
    (g,) = sg.gradients(sg.nn.CrossEntropyLoss()(logits, labels), [logits])
    z, y = rng.normal(size=(3, 4)), np.array([1, 0, 3])
    want = (np.exp(_log_softmax(z)) - np.eye(4)[y]) / 3
    with sg.Session() as sess:
        np.testing.assert_allclose(
            sess.run(g, {logits: z, labels: y}), want, rtol=1e-12, atol=1e-15
        )


def test_mse_refuses_shapes_that_would_broadcast_every_prediction_against_every_target():
    pred = sg.Placeholder((4, 1), dtype="float64", name="pred")
    target = sg.Placeholder((4,), dtype="float64", name="target")
    with pytest.raises(sg.ShapeError, match=r"mse of pred \(4, 1\) and target \(4,\): the shapes differ") as info:
        sg.mse(pred, target)
    assert "sg.reshape(target, (-1, 1))" in str(info.value)
    # one shape (None fits any size), or a single number: fine
    free = sg.Placeholder((None, 1), dtype="float64", name="free")
    with sg.Session() as sess:
        feeds = {pred: np.ones((4, 1)), free: np.zeros((4, 1))}
        assert sess.run(sg.mse(pred, free), feeds) == 1.0
        assert sess.run(sg.mse(pred, 3.0), feeds) == 4.0
        assert sess.run(sg.mse(pred, sg.reshape(target, (-1, 1))), {pred: np.ones((4, 1)), target: np.ones(4)}) == 0.0


@pytest.mark.parametrize("disable", [(), "all"])
def test_a_step_fetching_only_the_update_refuses_labels_of_another_batch_size(disable):
    """One label for 4 rows trained on it for every row, and divided by 1 not 4, without
    a word, when only `train` was fetched: the loss's own check never ran (found by a
    bug hunt). The gradient checks the labels too; the weights stay as they were."""
    x = sg.Placeholder((None, 3), name="x")
    y = sg.Placeholder((None,), dtype="int64", name="y")
    lin = sg.nn.Linear(3, 4, rng=0)
    train = sg.optim.SGD(0.1).minimize(sg.nn.CrossEntropyLoss()(lin(x), y))
    X = np.ones((4, 3), "float32")
    with sg.Session(disable=disable) as sess:
        before = sess.run(lin.weight)
        for labels in ([1], [1, 2]):
            with pytest.raises(sg.RunError, match="labels must have the logits' shape"):
                sess.run(train, {x: X, y: np.array(labels)})
        np.testing.assert_array_equal(sess.run(lin.weight), before)
