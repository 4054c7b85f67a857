"""SGD: the update it builds matches the textbook formulas, with and without momentum."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=(6, 1))
W0 = RNG.normal(size=(3, 1))
B0 = np.array([0.5])


def _linear_model():
    """A float64 linear regression, so the comparison with NumPy can be tight."""
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    y = sg.Placeholder((None, 1), dtype="float64", name="y")
    W = sg.Variable(W0, name="W")
    b = sg.Variable(B0, name="b")
    loss = sg.mean((x @ W + b - y) ** 2)
    return x, y, W, b, loss


def _numpy_grads(w, b):
    """d mean((XW + b - Y)**2) / dW and / db, by hand."""
    dpred = 2 * (X @ w + b - Y) / Y.size
    return X.T @ dpred, dpred.sum(axis=0)


def test_sgd_without_momentum_matches_a_hand_written_numpy_update():
    x, y, W, b, loss = _linear_model()
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    w_np, b_np = W0.copy(), B0.copy()
    with sg.Session() as sess:
        for _ in range(3):
            gw, gb = _numpy_grads(w_np, b_np)
            w_np, b_np = w_np - 0.1 * gw, b_np - 0.1 * gb
            assert sess.run(train, {x: X, y: Y}) is None
            np.testing.assert_allclose(sess.run(W), w_np, rtol=1e-12)
            np.testing.assert_allclose(sess.run(b), b_np, rtol=1e-12)


def test_sgd_with_momentum_matches_the_pytorch_and_tf1_formula():
    x, y, W, b, loss = _linear_model()
    train = sg.optim.SGD(lr=0.05, momentum=0.9).minimize(loss)
    w_np, b_np = W0.copy(), B0.copy()
    vw, vb = np.zeros_like(w_np), np.zeros_like(b_np)
    with sg.Session() as sess:
        for _ in range(3):
            gw, gb = _numpy_grads(w_np, b_np)
            vw, vb = 0.9 * vw + gw, 0.9 * vb + gb  # v = m * v + g
            w_np, b_np = w_np - 0.05 * vw, b_np - 0.05 * vb  # p -= lr * v
            sess.run(train, {x: X, y: Y})
            np.testing.assert_allclose(sess.run(W), w_np, rtol=1e-12)
            np.testing.assert_allclose(sess.run(b), b_np, rtol=1e-12)


def test_every_update_in_a_step_reads_the_parameters_from_before_the_step():
    x, y, W, b, loss = _linear_model()
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    with sg.Session() as sess:
        loss_before, _ = sess.run([loss, train], {x: X, y: Y})
    pred = X @ W0 + B0
    assert loss_before == pytest.approx(np.mean((pred - Y) ** 2), rel=1e-12)


def test_momentum_velocities_are_non_trainable_variables_saved_in_checkpoints(tmp_path):
    x, y, W, b, loss = _linear_model()
    train = sg.optim.SGD(lr=0.05, momentum=0.9).minimize(loss)
    graph = sg.get_default_graph()
    velocities = [v for v in graph.variables if v not in (W, b)]
    assert len(velocities) == 2
    assert all(not v.trainable for v in velocities)
    assert graph.trainable_variables() == [W, b]
    assert [v.shape for v in velocities] == [W.shape, b.shape]
    feed = {x: X, y: Y}
    with sg.Session() as sess:
        sess.run(train, feed)
        sess.save(tmp_path / "ck.npz")
        with np.load(tmp_path / "ck.npz") as data:
            assert all(v.name in data.files for v in velocities)
            assert np.any(data[velocities[0].name] != 0)
        sess.run(train, feed)
        expected = sess.run(W)
        sess.restore(tmp_path / "ck.npz")  # velocities come back too, so the step repeats exactly
        sess.run(train, feed)
        np.testing.assert_array_equal(sess.run(W), expected)


def test_learning_rate_can_be_a_placeholder():
    x, y, W, b, loss = _linear_model()
    lr = sg.Placeholder((), dtype="float64", name="lr")
    train = sg.optim.SGD(lr=lr).minimize(loss)
    gw, _ = _numpy_grads(W0, B0)
    with sg.Session() as sess:
        sess.run(train, {x: X, y: Y, lr: 0.0})
        np.testing.assert_array_equal(sess.run(W), W0)
        sess.run(train, {x: X, y: Y, lr: 0.5})
        np.testing.assert_allclose(sess.run(W), W0 - 0.5 * gw, rtol=1e-12)


def test_params_default_to_the_trainable_variables_the_loss_depends_on():
    x, y, W, b, loss = _linear_model()
    unrelated = sg.Variable(np.ones(2), name="unrelated")
    frozen = sg.Variable(1.0, name="frozen", trainable=False)
    loss = loss * frozen
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    with sg.Session() as sess:
        sess.run(train, {x: X, y: Y})
        assert not np.array_equal(sess.run(W), W0)
        assert not np.array_equal(sess.run(b), B0)
        np.testing.assert_array_equal(sess.run(unrelated), np.ones(2))
        assert sess.run(frozen) == 1.0


def test_params_argument_restricts_what_is_trained():
    x, y, W, b, loss = _linear_model()
    train = sg.optim.SGD(lr=0.1, params=[b]).minimize(loss)
    _, gb = _numpy_grads(W0, B0)
    with sg.Session() as sess:
        sess.run(train, {x: X, y: Y})
        np.testing.assert_array_equal(sess.run(W), W0)
        np.testing.assert_allclose(sess.run(b), B0 - 0.1 * gb, rtol=1e-12)


def test_minimize_returns_one_update_node():
    x, y, W, b, loss = _linear_model()
    train = sg.optim.SGD(lr=0.1, momentum=0.5).minimize(loss)
    assert isinstance(train, sg.Node)
    assert train.op.name == "group" and train.origin == "update"
    assert train.name == "SGD/step"
    assigns = [n for n in train.inputs if n.op.name == "assign"]
    assert len(assigns) == 4  # W, b and their two velocities


def test_float32_parameters_stay_float32():
    x = sg.Placeholder((None, 3), name="x")
    W = sg.Variable(np.ones((3, 1), dtype=np.float32), name="W")
    loss = sg.mean((x @ W) ** 2)
    train = sg.optim.SGD(lr=0.1, momentum=0.9).minimize(loss)
    with sg.Session() as sess:
        sess.run(train, {x: X})
        assert sess.run(W).dtype == np.float32
    assert all(v.dtype == np.float32 for v in sg.get_default_graph().variables)


def test_a_loss_without_trainable_variables_is_a_graph_error():
    x = sg.Placeholder((3,), name="x")
    with pytest.raises(sg.GraphError, match="no trainable Variable"):
        sg.optim.SGD(lr=0.1).minimize(sg.sum(x * x))


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"lr": -1.0}, {"lr": 0.1, "momentum": 1.0},
                                    {"lr": 0.1, "momentum": -0.1}])
def test_bad_hyperparameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        sg.optim.SGD(**kwargs)


def test_parameters_without_a_gradient_are_left_as_they_are():
    """As PyTorch skips a parameter whose grad is None, and TF1's apply_gradients a None
    gradient: another head's weights, or a threshold behind a comparison, stay put."""
    rng = np.random.default_rng(0)
    x = sg.Placeholder((4, 3), dtype="float64", name="x")
    w = sg.Variable(rng.normal(size=(3, 2)), name="w")
    other = sg.Variable(rng.normal(size=(3, 2)), name="other")  # a head this loss does not use
    threshold = sg.Variable(np.array(0.1), name="threshold")  # used only through a comparison
    h = x @ w
    mask = sg.cast(sg.greater(h, threshold), "float64")
    loss = sg.sum((h * mask) ** 2)
    _ = x @ other
    feeds = {x: rng.normal(size=(4, 3))}
    for optimizer in (sg.optim.SGD(lr=0.1, params=[w, other]), sg.optim.Adam(lr=0.1)):
        train = optimizer.minimize(loss)
        with sg.Session() as sess:
            before = sess.run([w, other, threshold])
            sess.run(train, feeds)
            after = sess.run([w, other, threshold])
        assert not np.array_equal(before[0], after[0])
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_array_equal(before[2], after[2])


def test_a_loss_that_reaches_no_parameter_through_gradients_is_an_error():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    k = sg.Variable(np.array(0.5), name="k")
    loss = sg.sum(sg.cast(sg.greater(x, k), "float64"))
    with pytest.raises(sg.GraphError, match="depends on none of the 1 parameters through ops that have gradients"):
        sg.optim.SGD(lr=0.1).minimize(loss)


def test_apply_gradients_checks_each_gradients_shape_and_skips_none():
    w = sg.Variable(np.array([1.0, 2.0]), name="w")
    u = sg.Variable(np.array([5.0]), name="u")
    with pytest.raises(sg.ShapeError, match=r"the gradient .* \(1,\) does not have the shape of the Variable w \(2,\)"):
        sg.optim.SGD(lr=0.1).apply_gradients([(sg.Constant(np.array([1.0])), w)])
    step = sg.optim.SGD(lr=0.5).apply_gradients([(sg.Constant(np.array([1.0, 1.0])), w), (None, u)])
    with sg.Session() as sess:
        sess.run(step)
        np.testing.assert_array_equal(sess.run(w), [0.5, 1.5])
        np.testing.assert_array_equal(sess.run(u), [5.0])
    with pytest.raises(sg.GraphError, match="every gradient given to apply_gradients is None"):
        sg.optim.SGD(lr=0.1).apply_gradients([(None, u)])
    clipped, norm = sg.optim.clip_by_global_norm([sg.Constant(np.array([3.0, 4.0])), None], 1.0)
    assert clipped[1] is None
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(clipped[0]), [0.6, 0.8])
        assert sess.run(norm) == 5.0


def test_gradients_of_an_unconnected_x_may_be_none_as_in_tf1():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    z = sg.Placeholder((2,), dtype="float64", name="z")
    gx, gz = sg.gradients(sg.sum(x * 2.0), [x, z], unconnected="none")
    assert gz is None and gx is not None
    with pytest.raises(sg.GradientError, match="'raise', 'zero' or 'none'"):
        sg.gradients(sg.sum(x), [x], unconnected="skip")


def test_an_update_that_forgets_assign_is_told_to_wrap_it():
    """`return [param - lr * grad]` was reported as "group takes update Nodes ... got
    Lazy/sub", naming neither update nor assign (found by a bug hunt)."""

    class Lazy(sg.optim.Optimizer):
        def update(self, param, grad):
            return [param - 0.1 * grad]  # no sg.assign: nothing stores the new value

    w = sg.Variable(np.ones(3), name="w")
    with pytest.raises(sg.GraphError, match=r"Lazy.update returned Lazy/sub \(sub\)") as info:
        Lazy().minimize(sg.sum(w * w))
    assert "sg.assign(param, param - lr * grad)" in str(info.value)


def test_optimizer_mistakes_found_by_a_bug_hunt_say_what_to_do():
    """A non-scalar loss was told to pass grad_y=, which minimize does not take; one
    Variable as params was 'cannot be iterated'; a Placeholder in params was 'depends on
    none of the 1 parameters' (found by a bug hunt)."""
    w = sg.Variable(np.ones(3), name="w")
    with pytest.raises(sg.GradientError) as info:
        sg.optim.SGD(0.1).minimize(w * 2.0)
    message = str(info.value)
    assert "has shape (3,); minimize needs a single number" in message, message
    assert "node 'mul' (mul)" in message and "sg.mean(loss)" in message and "grad_y" not in message
    with sg.Session() as sess:  # one Variable is taken as a list of one
        sess.run(sg.optim.SGD(0.5, params=w).minimize(sg.sum(w * w)))
        np.testing.assert_allclose(sess.run(w), [0.0, 0.0, 0.0])
    p = sg.Placeholder((3,), dtype="float64", name="p")
    for params in ([p], p):
        with pytest.raises(sg.GraphError) as info:
            sg.optim.SGD(0.1, params=params)
        message = str(info.value)
        assert "params holds p, a placeholder Node, not a Variable" in message, message
        assert "node 'p' (placeholder)" in message and "\n  fix: " in message, message


def test_gradients_minimize_and_unroll_build_in_the_graph_of_their_nodes_not_the_default():
    """TF1 builds tf.gradients and minimize in the loss's graph. Outside `with
    g.as_default():` the seed gradient, the gradient rules' Constants, the optimizer's
    state and an RNN's zero state went to the default graph, and the step failed."""
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.array([1.0, 2.0]), name="w")
        loss = sg.sum(w * w)
        x = sg.Placeholder((None, 3), dtype="float64", name="x")
        cell = sg.nn.RNNCell(3, 4, dtype="float64")
    default_before = len(sg.get_default_graph().nodes)
    (grad,) = sg.gradients(loss, [w])
    train = sg.optim.SGD(lr=0.1, momentum=0.5).minimize(loss)
    outputs, h_last = sg.nn.unroll(cell, [x, x])
    assert {grad.graph, train.graph, h_last.graph} == {g}
    assert len(sg.get_default_graph().nodes) == default_before  # nothing strayed into it
    with sg.Session(g) as sess:
        np.testing.assert_allclose(sess.run(grad), [2.0, 4.0])
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), [0.8, 1.6])
        assert sess.run(h_last, {x: np.ones((2, 3))}).shape == (2, 4)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda loss: sg.optim.SGD(lr=0.1).minimize([loss]), TypeError, "add them: minimize(loss1 + loss2)"),
        (lambda loss: sg.optim.SGD(lr=0.1).minimize(3.0), TypeError, "one loss Node, got float"),
        (lambda loss: sg.optim.Adam(betas=0.9), TypeError, "betas must be a pair"),
        (lambda loss: sg.optim.Adam(betas=(0.9,)), TypeError, "betas must be a pair"),
        (lambda loss: sg.optim.Adam(betas=(0.9, 1.0)), ValueError, "betas[1] must be in [0, 1)"),
        (lambda loss: sg.optim.SGD(lr=0.1, momentum=None), TypeError, "momentum must be a number"),
        (lambda loss: sg.optim.SGD(lr=0.1, weight_decay=None), TypeError, "weight_decay must be a number"),
        (lambda loss: sg.optim.Adam(eps=None), TypeError, "eps must be a number"),
        (lambda loss: sg.optim.SGD(lr=float("inf")), ValueError, "positive and finite"),
        (lambda loss: sg.optim.SGD(lr=0.1).minimize(loss, clip_norm="1"), TypeError, "max_norm must be a number"),
        (lambda loss: sg.optim.SGD(lr=0.1).minimize(loss, clip_norm=float("inf")), ValueError, "max_norm must be positive"),
    ],
)
def test_optimizer_settings_of_the_wrong_kind_are_named(make, error, words):
    """Found by a bug hunt: these were bare TypeErrors from inside (unhashable list,
    '<=' not supported, not iterable), or accepted an infinite rate."""
    _, _, _, _, loss = _linear_model()
    with pytest.raises(error) as caught:
        make(loss)
    assert words in str(caught.value)


def test_an_optimizer_subclass_need_not_call_the_base_init():
    class Halve(sg.optim.Optimizer):
        def __init__(self):  # no super().__init__(): params and weight_decay keep their defaults
            pass

        def update(self, param, grad):
            return [sg.assign(param, param * 0.5)]

    w = sg.Variable(np.array([4.0]), name="w")
    train = Halve().minimize(sg.sum(w * w))
    with sg.Session() as sess:
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), [2.0])
