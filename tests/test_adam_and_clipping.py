"""Optimizers against hand-written NumPy updates; Adam's state in checkpoints; gradient clipping.

The model is a float64 least-squares fit, loss = 0.5 * sum((X @ W + b - Y)**2),
whose gradients NumPy writes in two lines, so each update is checked exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(99)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=(6, 2))
W0 = RNG.normal(size=(3, 2))
B0 = RNG.normal(size=2)


def build_model():
    """W, b and the loss in the default graph."""
    W = sg.Variable(W0, name="W")
    b = sg.Variable(B0, name="b")
    loss = 0.5 * sg.sum((sg.Constant(X) @ W + b - sg.Constant(Y)) ** 2)
    return W, b, loss


def numpy_grads(W, b):
    r = X @ W + b - Y
    return [X.T @ r, r.sum(axis=0)]


def run_steps(train, params, steps):
    """Run `train` `steps` times; return the parameter values after each step."""
    history = []
    with sg.Session() as sess:
        for _ in range(steps):
            assert sess.run(train) is None
            history.append(sess.run(params))
    return history


# -- SGD ------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_numpy_updates(momentum, nesterov, weight_decay):
    W, b, loss = build_model()
    sgd = sg.optim.SGD(lr=0.05, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    got = run_steps(sgd.minimize(loss), [W, b], steps=4)

    # PyTorch's torch.optim.SGD, as its documentation writes it
    params, velocity = [W0.copy(), B0.copy()], [np.zeros_like(W0), np.zeros_like(B0)]
    for step in range(4):
        grads = numpy_grads(*params)
        for i in range(2):
            g = grads[i] + weight_decay * params[i]
            velocity[i] = momentum * velocity[i] + g
            direction = g + momentum * velocity[i] if nesterov else velocity[i]
            params[i] = params[i] - 0.05 * direction
        for i in range(2):
            np.testing.assert_allclose(got[step][i], params[i], rtol=1e-12, atol=1e-14)


def test_sgd_learning_rate_may_be_a_placeholder_for_a_schedule():
    W, b, loss = build_model()
    lr = sg.Placeholder((), dtype="float64", name="lr")
    train = sg.optim.SGD(lr=lr, params=[W]).minimize(loss)
    with sg.Session() as sess:
        sess.run(train, {lr: 0.0})
        np.testing.assert_array_equal(sess.run(W), W0)
        sess.run(train, {lr: 0.01})
        np.testing.assert_allclose(sess.run(W), W0 - 0.01 * numpy_grads(W0, B0)[0], rtol=1e-12)
        np.testing.assert_array_equal(sess.run(b), B0)  # params=[W]: b is left alone


def test_minimize_var_list_trains_only_the_listed_variables():
    W, b, loss = build_model()
    train = sg.optim.SGD(lr=0.01).minimize(loss, var_list=[b])
    with sg.Session() as sess:
        sess.run(train)
        np.testing.assert_array_equal(sess.run(W), W0)
        np.testing.assert_allclose(sess.run(b), B0 - 0.01 * numpy_grads(W0, B0)[1], rtol=1e-12)
    with pytest.raises(sg.GraphError, match=r"var_list holds add(_\d+)?, a add Node, not a Variable"):
        sg.optim.SGD(lr=0.01).minimize(loss, var_list=W + 1.0)
    one = sg.optim.SGD(lr=0.01).minimize(loss, var_list=b)  # one Variable: a list of one
    assert one.op.is_update
    with pytest.raises(TypeError, match="only Variables"):
        sg.optim.SGD(lr=0.01).minimize(loss, var_list=[b, "W"])
    with pytest.raises(sg.GraphError, match="var_list is empty"):
        sg.optim.SGD(lr=0.01).minimize(loss, var_list=[])


def test_sgd_momentum_keeps_its_velocity_in_a_non_trainable_variable():
    W, b, loss = build_model()
    sg.optim.SGD(lr=0.1, momentum=0.5).minimize(loss)
    graph = sg.get_default_graph()
    state = [v for v in graph.variables if not v.trainable]
    assert graph.trainable_variables() == [W, b]
    assert [(v.shape, v.dtype) for v in state] == [(W.shape, W.dtype), (b.shape, b.dtype)]


def test_optimizer_arguments_are_checked():
    with pytest.raises(ValueError, match="learning rate"):
        sg.optim.SGD(lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        sg.optim.SGD(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        sg.optim.SGD(lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="weight_decay"):
        sg.optim.Adam(weight_decay=-1.0)
    with pytest.raises(ValueError, match="learning rate"):
        sg.optim.Adam(lr=-0.1)
    with pytest.raises(ValueError, match="betas"):
        sg.optim.Adam(betas=(0.9, 1.0))


def test_minimize_of_a_loss_without_variables_says_there_is_nothing_to_train():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    with pytest.raises(sg.GraphError, match="depends on no trainable Variable"):
        sg.optim.SGD(lr=0.1).minimize(sg.sum(x * x))


# -- Adam -----------------------------------------------------------------------------------
def numpy_adam(steps, lr, betas, eps, weight_decay):
    b1, b2 = betas
    params = [W0.copy(), B0.copy()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    history = []
    for t in range(1, steps + 1):
        grads = numpy_grads(*params)
        for i in range(2):
            g = grads[i] + weight_decay * params[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append([p.copy() for p in params])
    return history


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adam_matches_numpy_updates(weight_decay):
    W, b, loss = build_model()
    adam = sg.optim.Adam(lr=0.1, betas=(0.8, 0.95), eps=1e-6, weight_decay=weight_decay)
    got = run_steps(adam.minimize(loss), [W, b], steps=5)
    want = numpy_adam(5, 0.1, (0.8, 0.95), 1e-6, weight_decay)
    for step in range(5):
        for i in range(2):
            np.testing.assert_allclose(got[step][i], want[step][i], rtol=1e-12, atol=1e-14)


def test_adam_state_is_non_trainable_variables_shaped_like_each_parameter():
    W, b, loss = build_model()
    sg.optim.Adam(lr=0.1).minimize(loss)
    graph = sg.get_default_graph()
    assert graph.trainable_variables() == [W, b]
    state = {v.name: v for v in graph.variables if not v.trainable}
    for param in (W, b):
        m, v, t = (state[f"Adam/{param.name}/adam_{k}"] for k in "mvt")
        assert m.shape == v.shape == param.shape and t.shape == ()
        assert m.dtype == v.dtype == param.dtype
        assert t.dtype == np.float64  # the step count: float64 whatever the parameter's dtype


def test_adam_in_float32_keeps_its_bias_correction_exact():
    """1 - 0.999**t in float32 is off by 1e-5 relative: the float32 run drifted 4e-6
    from exact Adam in five steps, where PyTorch's float32 Adam stays near 1e-7.
    Found by a bug hunt against PyTorch."""
    W = sg.Variable(W0.astype(np.float32), name="W")
    b = sg.Variable(B0.astype(np.float32), name="b")
    loss = 0.5 * sg.sum((sg.Constant(X.astype(np.float32)) @ W + b - sg.Constant(Y.astype(np.float32))) ** 2)
    got = run_steps(sg.optim.Adam(lr=0.1).minimize(loss), [W, b], steps=5)
    want = numpy_adam(5, 0.1, (0.9, 0.999), 1e-8, 0.0)
    for step in range(5):
        for i in range(2):
            assert got[step][i].dtype == np.float32
            # float32 rounding alone: about 1e-7 here (the bias correction in float32: 4e-6)
            np.testing.assert_allclose(got[step][i], want[step][i], rtol=0, atol=3e-7)


def test_adam_state_is_saved_and_restored(tmp_path):
    W, b, loss = build_model()
    train = sg.optim.Adam(lr=0.1).minimize(loss)
    t_of_W = sg.get_default_graph().get_node("Adam/W/adam_t")
    path = tmp_path / "adam.npz"
    with sg.Session() as sess:
        sess.run(train)
        sess.run(train)
        sess.save(path)
        sess.run(train)
        want = sess.run([W, b])

    with sg.Session() as sess:
        sess.restore(path)
        assert sess.run(t_of_W) == 2.0
        sess.run(train)
        got = sess.run([W, b])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)  # the third step continued from saved m, v and t

    with sg.Session() as sess:  # without the state, the third step is a first step: it differs
        sess.restore(path)
        sess.initialize([v for v in sess.graph.variables if not v.trainable])
        sess.run(train)
        assert not np.allclose(sess.run(W), want[0])


# -- clipping -------------------------------------------------------------------------------
G1 = RNG.normal(size=(3, 4))
G2 = RNG.normal(size=5)
NORM = np.sqrt(np.sum(G1**2) + np.sum(G2**2))


@pytest.mark.parametrize("max_norm", [NORM / 3, NORM * 2])
def test_clip_by_global_norm_matches_numpy_above_and_below_the_limit(max_norm):
    grads = [sg.Constant(G1, name="g1"), sg.Constant(G2, name="g2")]
    clipped, norm = sg.clip_by_global_norm(grads, max_norm)
    with sg.Session() as sess:
        c1, c2, n = sess.run([*clipped, norm])
    scale = max_norm / max(NORM, max_norm)
    np.testing.assert_allclose(n, NORM, rtol=1e-14)
    np.testing.assert_allclose(c1, G1 * scale, rtol=1e-14)
    np.testing.assert_allclose(c2, G2 * scale, rtol=1e-14)
    np.testing.assert_allclose(
        np.sqrt(np.sum(c1**2) + np.sum(c2**2)), min(NORM, max_norm), rtol=1e-14
    )


def test_clip_by_global_norm_of_nothing_is_an_error():
    with pytest.raises(sg.GraphError, match="at least one gradient"):
        sg.clip_by_global_norm([], 1.0)


def test_a_max_norm_that_is_not_positive_is_an_error():
    W, b, loss = build_model()
    with pytest.raises(ValueError, match="max_norm must be positive, got 0"):
        sg.clip_by_global_norm([sg.Constant(G1)], 0)
    with pytest.raises(ValueError, match="max_norm must be positive, got -1"):
        sg.optim.SGD(lr=0.1).minimize(loss, clip_norm=-1.0)


def test_minimize_with_clip_norm_scales_the_gradients_first():
    W, b, loss = build_model()
    grads = numpy_grads(W0, B0)
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    clip_norm = norm / 10
    train = sg.optim.SGD(lr=0.1).minimize(loss, clip_norm=clip_norm)
    (got,) = run_steps(train, [W, b], steps=1)
    for value, start, g in zip(got, (W0, B0), grads):
        np.testing.assert_allclose(value, start - 0.1 * g * clip_norm / norm, rtol=1e-12)


def test_clipping_by_hand_and_apply_gradients_give_the_same_update_as_minimize():
    W, b, loss = build_model()
    adam_a, adam_b = sg.optim.Adam(lr=0.1), sg.optim.Adam(lr=0.1)
    by_minimize = adam_a.minimize(loss, clip_norm=1.0)
    clipped, _ = sg.clip_by_global_norm(sg.gradients(loss, [W, b]), 1.0)
    by_hand = adam_b.apply_gradients(zip(clipped, [W, b]))
    a = run_steps(by_minimize, [W, b], steps=3)
    h = run_steps(by_hand, [W, b], steps=3)
    for step in range(3):
        for i in range(2):
            np.testing.assert_array_equal(a[step][i], h[step][i])
    assert not np.allclose(a[-1][0], W0)


def test_apply_gradients_accepts_any_gradient_nodes():
    W = sg.Variable(np.ones(3), name="W")
    g = sg.Constant(np.array([1.0, 2.0, 3.0]), name="g")
    train = sg.optim.SGD(lr=0.5, weight_decay=0.5).apply_gradients([(g, W)])
    (got,) = run_steps(train, [W], steps=1)
    np.testing.assert_allclose(got[0], 1.0 - 0.5 * (np.array([1.0, 2.0, 3.0]) + 0.5 * 1.0))


def test_optimizer_arguments_of_the_wrong_kind_say_so():
    W, b, loss = build_model()
    with pytest.raises(TypeError, match="SGD learning rate must be a number or a Node, got str"):
        sg.optim.SGD(lr="0.1")
    with pytest.raises(ValueError, match="Adam eps must be >= 0"):
        sg.optim.Adam(eps=-1.0)
    model = sg.nn.Sequential(sg.nn.Linear(3, 2))
    with pytest.raises(TypeError, match=r"pass its Variables: params=module.parameters\(\)"):
        sg.optim.Adam(params=model)


def test_one_optimizer_keeps_one_state_per_parameter_across_minimize_calls():
    """opt.minimize(l1) and opt.minimize(l2) made two momenta for one weight; TF1's slots
    and PyTorch's per-parameter state are one (found by a bug hunt). Alternating the two
    losses is then exactly one Adam over the alternating gradients."""
    w = sg.Variable(np.array([1.0, -2.0]), name="w")
    opt = sg.optim.Adam(lr=0.1)
    first, second = opt.minimize(sg.sum(w * w)), opt.minimize(sg.sum(sg.abs(w)))
    assert [v.name for v in sg.get_default_graph().variables] == [
        "w", "Adam/w/adam_m", "Adam/w/adam_v", "Adam/w/adam_t"]
    value, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    with sg.Session() as sess:
        for t in range(1, 5):
            sess.run(first if t % 2 else second)
            g = 2 * value if t % 2 else np.sign(value)
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            value = value - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            np.testing.assert_allclose(sess.run(w), value, rtol=1e-12)


def test_minimize_over_an_integer_variable_says_why_it_has_no_gradient():
    count = sg.Variable(np.array([1, 2]), name="count")
    with pytest.raises(sg.GraphError, match="count is int64, and only float Variables have gradients"):
        sg.optim.SGD(lr=0.1).minimize(sg.sum(sg.cast(count, "float64")))


def test_a_variable_listed_twice_is_trained_once():
    """enc.parameters() + dec.parameters() with a tied weight listed W twice, and the
    step failed when run: 'Variable W is updated twice' (found by a bug hunt)."""
    W, b, loss = build_model()
    for train in [sg.optim.SGD(lr=0.05, params=[W, b, W]).minimize(loss),
                  sg.optim.Adam(lr=0.05).minimize(loss, var_list=[W, W, b])]:
        with sg.Session() as sess:
            sess.run(train)
            assert not np.array_equal(sess.run(W), W0)
