"""sg.gradients: values, fan-out, broadcasting, higher order, errors, and the Nodes it builds."""

from __future__ import annotations

import time

import numpy as np
import pytest

import symgraph as sg
from symgraph.autodiff import ancestors
from symgraph.graph import make_node


def run(fetches, feed=None):
    with sg.Session() as sess:
        return sess.run(fetches, feed or {})


# -- values ---------------------------------------------------------------------------------
def test_chain_rule_matches_the_hand_computed_derivative():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.sum(sg.tanh(3.0 * x + 1.0) * 2.0)
    (g,) = sg.gradients(y, [x])
    a = np.array([-0.5, 0.1, 0.7])
    expected = 2.0 * 3.0 * (1.0 - np.tanh(3.0 * a + 1.0) ** 2)
    np.testing.assert_allclose(run(g, {x: a}), expected, rtol=1e-12)


def test_matmul_gradients_match_the_textbook_formulas():
    X = sg.Placeholder((4, 3), dtype="float64", name="X")
    W = sg.Variable(np.arange(6.0).reshape(3, 2) / 10, name="W")
    loss = sg.sum((X @ W) ** 2)
    gX, gW = sg.gradients(loss, [X, W])
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    w = np.arange(6.0).reshape(3, 2) / 10
    dout = 2 * (x @ w)
    got_x, got_w = run([gX, gW], {X: x})
    np.testing.assert_allclose(got_x, dout @ w.T, rtol=1e-12)
    np.testing.assert_allclose(got_w, x.T @ dout, rtol=1e-12)


def test_fan_out_sums_the_contributions():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    (g,) = sg.gradients(sg.sum(x * x + x), [x])  # x is used three times
    a = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(run(g, {x: a}), 2 * a + 1)


def test_chain_of_h_plus_h_is_built_once_per_node_not_once_per_path():
    x = sg.Placeholder((), dtype="float64", name="x")
    h = x
    for _ in range(30):
        h = h + h  # 2**30 paths from h back to x
    before = len(sg.get_default_graph())
    start = time.perf_counter()
    (g,) = sg.gradients(h, [x])
    built = time.perf_counter() - start
    assert built < 1.0
    assert len(sg.get_default_graph()) - before < 5 * 30  # linear in the chain, not 2**30
    assert run(g, {x: 1.0}) == 2.0**30


def test_broadcast_inputs_get_gradients_of_their_own_shape():
    x = sg.Placeholder((4, 3), dtype="float64", name="x")
    b = sg.Variable(np.zeros(3), name="b")  # added to every row
    s = sg.Variable(np.full((4, 1), 2.0), name="s")  # scales every column
    c = sg.Variable(1.5, name="c")  # a scalar
    y = sg.sum((x + b) * s * c)
    gx, gb, gs, gc = sg.gradients(y, [x, b, s, c])
    assert (gx.shape, gb.shape, gs.shape, gc.shape) == ((4, 3), (3,), (4, 1), ())
    a = np.arange(12.0).reshape(4, 3)
    vx, vb, vs, vc = run([gx, gb, gs, gc], {x: a})
    np.testing.assert_allclose(vx, np.full((4, 3), 3.0))
    np.testing.assert_allclose(vb, np.full(3, 4 * 2.0 * 1.5))
    np.testing.assert_allclose(vs, a.sum(axis=1, keepdims=True) * 1.5)
    np.testing.assert_allclose(vc, (a * 2.0).sum())


def test_broadcast_against_a_none_dim_reduces_at_run_time():
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    b = sg.Variable(np.zeros(3), name="b")
    (gb,) = sg.gradients(sg.mean(x + b), [b])
    assert gb.shape == (3,)
    for rows in (2, 5):
        np.testing.assert_allclose(run(gb, {x: np.ones((rows, 3))}), np.full(3, 1 / 3))


def test_a_gradient_has_the_dtype_of_its_input():
    x = sg.Placeholder((3,), name="x")  # float32
    y = sg.sum(np.ones(3) * x + np.arange(3.0))  # float64 arrays: y is float64
    assert y.dtype == np.float64
    (g,) = sg.gradients(y, [x])
    assert g.dtype == np.float32
    value = run(g, {x: [1.0, 2.0, 3.0]})
    assert value.dtype == np.float32 and value.tolist() == [1.0, 1.0, 1.0]


def test_gradient_of_a_gradient_x_cubed():
    x = sg.Placeholder((), dtype="float64", name="x")
    y = x**3
    (g,) = sg.gradients(y, [x])
    (gg,) = sg.gradients(g, [x])
    (ggg,) = sg.gradients(gg, [x])
    values = run([y, g, gg, ggg], {x: 3.0})
    assert values == [27.0, 27.0, 18.0, 6.0]  # x**3, 3x**2, 6x, 6


def test_gradient_with_respect_to_an_intermediate_node():
    x = sg.Placeholder((), dtype="float64", name="x")
    h = x * 2.0
    (g,) = sg.gradients(h**2, [h])
    assert run(g, {x: 1.5}) == 2 * 3.0


def test_grad_y_weights_a_non_scalar_y():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    (g,) = sg.gradients(x * x, [x], grad_y=np.array([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(run(g, {x: [1.0, 2.0, 3.0]}), [2.0, 40.0, 600.0])


def test_returns_a_list_as_long_as_xs():
    x = sg.Placeholder((), name="x")
    y = x * x
    assert isinstance(sg.gradients(y, x), list) and len(sg.gradients(y, x)) == 1
    both = sg.gradients(y, [x, x])
    assert len(both) == 2 and both[0] is both[1]
    assert sg.gradients(y, []) == []


# -- errors ---------------------------------------------------------------------------------
def test_non_scalar_y_without_grad_y_is_a_gradient_error():
    x = sg.Placeholder((3,), name="x")
    y = x * 2.0
    with pytest.raises(sg.GradientError, match=r"y has shape \(3,\).*need grad_y") as info:
        sg.gradients(y, [x])
    assert info.value.node is y
    assert "sg.sum" in str(info.value)


def test_grad_y_of_the_wrong_shape_is_a_gradient_error():
    x = sg.Placeholder((3,), name="x")
    with pytest.raises(sg.GradientError, match=r"grad_y .*\(4,\).*\(3,\)"):
        sg.gradients(x * 2.0, [x], grad_y=np.ones(4, dtype=np.float32))


def test_unconnected_x_raises_naming_it():
    x = sg.Placeholder((3,), name="x")
    unused = sg.Placeholder((2,), name="unused")
    with pytest.raises(sg.GradientError, match="does not depend on unused") as info:
        sg.gradients(sg.sum(x), [x, unused])
    assert info.value.node is unused
    assert "unconnected='zero'" in str(info.value)


def test_unconnected_zero_gives_zeros_of_the_shape_and_dtype_of_x():
    x = sg.Placeholder((3,), name="x")
    other = sg.Variable(np.ones((2, 2), dtype=np.float64), name="other")
    gx, go = sg.gradients(sg.sum(x), [x, other], unconnected="zero")
    assert go.shape == (2, 2) and go.dtype == np.float64
    vx, vo = run([gx, go], {x: np.zeros(3)})
    np.testing.assert_array_equal(vo, np.zeros((2, 2)))
    np.testing.assert_array_equal(vx, np.ones(3))


def test_a_path_only_through_argmax_raises_naming_argmax():
    x = sg.Placeholder((3,), name="x")
    w = sg.Placeholder((), name="w")
    y = sg.cast(sg.argmax(x), "float32") * w
    with pytest.raises(sg.GradientError, match=r"only through argmax \(argmax\).*no gradient"):
        sg.gradients(y, [x])
    (gx,) = sg.gradients(y, [x], unconnected="zero")
    np.testing.assert_array_equal(run(gx, {x: [1.0, 3.0, 2.0], w: 1.0}), np.zeros(3))


def test_unknown_unconnected_option_is_rejected():
    x = sg.Placeholder((), name="x")
    with pytest.raises(sg.GradientError, match="unconnected must be"):
        sg.gradients(x * x, [x], unconnected="ignore")


def test_integer_y_has_no_gradient():
    i = sg.Placeholder((), dtype="int64", name="i")
    with pytest.raises(sg.GradientError, match="only float values have gradients"):
        sg.gradients(i * 2, [i])


def test_x_from_another_graph_is_a_gradient_error():
    x = sg.Placeholder((), name="x")
    with sg.Graph().as_default():
        z = sg.Placeholder((), name="z")
    with pytest.raises(sg.GradientError, match="another Graph"):
        sg.gradients(x * x, [z])


def test_a_failed_call_leaves_the_graph_as_it_was():
    x = sg.Placeholder((3,), name="x")
    unused = sg.Placeholder((), name="unused")
    y = sg.sum(x * x)
    before = sg.get_default_graph().nodes
    with pytest.raises(sg.GradientError):
        sg.gradients(y, [x, unused])  # x's gradient is built before unused fails
    assert sg.get_default_graph().nodes == before


# -- the Nodes it builds -----------------------------------------------------------------------
def test_gradient_nodes_are_named_tagged_and_point_to_their_forward_node():
    x = sg.Placeholder((3,), name="x")
    with sg.name_scope("layer"):
        h = sg.tanh(x)
    y = sg.sum(h)
    before = len(sg.get_default_graph())
    (g,) = sg.gradients(y, [x])
    new = sg.get_default_graph().nodes[before:]
    assert new and all(n.name.startswith("gradients/") for n in new)
    assert all(n.origin == "gradient" for n in new)
    assert all(n.grad_of is not None for n in new)
    assert any(n.name.startswith("gradients/layer/tanh_grad/") and n.grad_of is h for n in new)
    assert g.grad_of in (x, h)
    (g2,) = sg.gradients(y, [x])
    assert g2.name.startswith("gradients_1/")


def test_unused_gradient_nodes_are_not_left_in_the_graph():
    x = sg.Placeholder((3,), name="x")
    b = sg.Placeholder((3,), name="b")
    y = sg.sum(x**2 * b)  # pow's backward also builds d/d(exponent) = log(x) * x**2
    before = len(sg.get_default_graph())
    (g,) = sg.gradients(y, [x])  # only x is asked for
    graph = sg.get_default_graph()
    assert not any(n.op.name == "log" for n in graph.nodes)
    new = set(graph.nodes[before:])
    assert new <= set(ancestors([g]))  # every Node built is needed by the result


def test_the_same_graph_built_twice_gets_the_same_gradient_names():
    def build():
        g = sg.Graph()
        with g.as_default():
            x = sg.Placeholder((2, 3), name="x")
            W = sg.Variable(np.ones((3, 4), dtype=np.float32), name="W")
            loss = sg.mean(sg.relu(x @ W) * x.T.T[:, :1])
            sg.gradients(loss, [x, W])
        return [(n.name, n.op.name, n.shape) for n in g.nodes]

    assert build() == build()


def test_an_op_without_a_gradient_rule_is_reported_by_name():
    class NoGrad(sg.Op):
        name = "test_no_grad_op"
        registered = False  # a test's op: kept out of the op table tests/ops/ checks

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x

    x = sg.Placeholder((), name="x")
    y = make_node(NoGrad(), (x,))
    with pytest.raises(sg.GradientError, match="op test_no_grad_op has no gradient"):
        sg.gradients(y, [x])


def test_a_backward_of_the_wrong_shape_is_reported_naming_the_op():
    class BadShape(sg.Op):
        name = "test_bad_shape_grad_op"
        registered = False

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x

        def backward(self, node, grad):
            return (sg.sum(grad),)  # a scalar for a (3,) input

    x = sg.Placeholder((3,), name="x")
    y = sg.sum(make_node(BadShape(), (x,)))
    message = r"test_bad_shape_grad_op gave a gradient of shape \(\)"
    with pytest.raises(sg.GradientError, match=message):
        sg.gradients(y, [x])


def test_a_weights_contributions_are_added_up_as_they_are_made():
    """An RNN's weight gets one contribution per step. Each is added to the running sum
    right after it is made (as PyTorch accumulates into .grad), so in creation order,
    which the compiler schedules by, the additions sit between the steps' work."""
    wh = sg.Variable(np.eye(3) * 0.5, name="Wh")
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    h = x
    for _ in range(4):
        h = sg.tanh(h @ wh)
    (grad,) = sg.gradients(sg.sum(h), [wh])
    graph = grad.graph
    terms = [n for n in graph._nodes if n.op.name == "matmul" and n.grad_of is not None
             and n.name.endswith("matmul_1")]  # the h.T @ g of each step: Wh's contributions
    adds = [n for n in graph._nodes if n.name.startswith("gradients/Wh_grad/add")]
    assert len(terms) == 4 and len(adds) == 3
    for add, later_term in zip(adds, terms[2:] + [None]):
        # each addition is made before the next step's term, not after the last one
        assert later_term is None or add.id < later_term.id
    rng = np.random.default_rng(0)
    assert sg.testing.check_gradients(
        lambda w, xv: sg.sum(sg.tanh(sg.tanh(sg.tanh(sg.tanh(xv @ w) @ w) @ w) @ w)),
        [rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(2, 3))],
    ) <= 1.0


def test_pow_gradients_at_a_zero_base_are_those_pytorch_gives():
    """d(x**p)/dp = log(x) * x**p is 0 where x is 0 (not log(0) * 0 = NaN), and
    d(x**0)/dx is 0 (not 0 * 0**-1 = NaN): a learnable exponent over data with zeros
    must not poison training. Found by a bug hunt against PyTorch."""
    x = sg.Placeholder((3,), dtype="float64", name="x")
    p = sg.Placeholder((3,), dtype="float64", name="p")
    y = sg.sum(x**p)
    dx, dp = sg.gradients(y, [x, p])
    (ddx,) = sg.gradients(sg.sum(dx), [x])
    feed = {x: np.array([0.0, 1.0, 2.0]), p: np.array([0.0, 1.0, 2.0])}
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            got_dx, got_dp, got_ddx = sess.run([dx, dp, ddx], feed)
        np.testing.assert_allclose(got_dx, [0.0, 1.0, 4.0])
        np.testing.assert_allclose(got_dp, [0.0, 0.0, 4 * np.log(2)])
        np.testing.assert_allclose(got_ddx, [0.0, 0.0, 2.0])
    # a Python-number exponent: x ** 0 and x ** 1, first and second order
    for power, first, second in ((0.0, [0, 0, 0], [0, 0, 0]), (1.0, [1, 1, 1], [0, 0, 0])):
        (g,) = sg.gradients(sg.sum(x**power), [x])
        (h,) = sg.gradients(sg.sum(g), [x])
        with sg.Session() as sess:
            got_g, got_h = sess.run([g, h], {x: np.array([0.0, 1.0, 2.0])})
        np.testing.assert_array_equal(got_g, first)
        np.testing.assert_array_equal(got_h, second)
    # and a Python-number base of 0: 0.0 ** p
    (g,) = sg.gradients(sg.sum(sg.Constant(0.0) ** p), [p])
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(g, {p: np.array([1.0, 2.0, 3.0])}), [0.0, 0.0, 0.0])


def test_abs_has_no_gradient_at_zero_as_in_pytorch_and_tf1():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    (g,) = sg.gradients(sg.sum(sg.abs(x) * np.array([1.0, 2.0, 3.0])), [x])
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(g, {x: np.array([-2.0, 0.0, 2.0])}), [-1.0, 0.0, 3.0])


def test_clip_takes_constant_bounds_and_says_what_to_do_with_computed_ones():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    clipped = sg.clip(x, sg.Constant(0.0), 1.0)
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(clipped, {x: np.array([-1.0, 0.5, 2.0])}), [0.0, 0.5, 1.0])
    lo = sg.Placeholder((), dtype="float64", name="lo")
    with pytest.raises(sg.ShapeError, match="clip's bounds must be numbers") as info:
        sg.clip(x, lo, 1.0)
    assert "sg.minimum(sg.maximum(x, lo), hi)" in str(info.value)


def test_stop_gradient_treats_what_it_comes_from_as_a_constant():
    """tf.stop_gradient / .detach(): w = 2, y = tanh(3w), z = stop_gradient(y) * w:
    dz/dw = y, not y + 3w(1 - y**2). Feeding y instead does not stop the gradient (as in
    TF1), which docs/guides/names.md used to suggest."""
    w = sg.Variable(np.array(2.0), name="w")
    y = sg.tanh(3.0 * w)
    z = sg.stop_gradient(y) * w
    (g,) = sg.gradients(z, [w])
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            value, grad = sess.run([z, g])
        assert value == pytest.approx(2 * np.tanh(6.0))
        assert grad == pytest.approx(np.tanh(6.0))
    only = sg.stop_gradient(w) * 3.0
    with pytest.raises(sg.GradientError):
        sg.gradients(only, [w])
    (zero,) = sg.gradients(only, [w], unconnected="zero")
    with sg.Session() as sess:
        assert sess.run(zero) == 0.0


def test_an_integer_input_has_no_gradient():
    """Its gradient was the float one cast to int: d sum(3.7 sqrt(i)) / di came out
    [1 0 0] (found by a bug hunt). As in TF1 (and PyTorch, which refuses), it has none."""
    i = sg.Placeholder((3,), dtype="int64", name="i")
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.sum(sg.sqrt(i) * 3.7 + x)
    with pytest.raises(sg.GradientError, match="i has dtype int64: only float values"):
        sg.gradients(y, [i])
    none, dx = sg.gradients(y, [i, x], unconnected="none")
    assert none is None and dx.dtype == np.float64
    (zeros,) = sg.gradients(y, [i], unconnected="zero")
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(zeros, {i: np.array([1, 4, 9])}), [0, 0, 0])


def test_gradients_of_a_graph_with_hand_edited_inputs_say_so():
    """A cycle made by editing node.inputs raised a bare KeyError here, where
    Session.run names the cycle (found by a bug hunt)."""
    x = sg.Placeholder((3,), dtype="float64", name="x")
    p = x + 1.0
    q = p * 2.0
    p.inputs = [x, q]
    with pytest.raises(sg.GraphError, match="add reads mul, which was made after it"):
        sg.gradients(sg.sum(q), [x])


def test_a_node_read_twice_by_one_add_before_a_slice_or_lookup_counts_twice_not_four_times():
    """x + x hands its gradient to x twice; when that gradient is a slice's or a lookup's
    (whose sums are merged, Op.sum_gradients), the merged sum stood in both places."""
    x = sg.Placeholder((3,), dtype="float64", name="x")
    E = sg.Placeholder((4, 2), dtype="float64", name="E")
    ids = sg.Constant(np.array([1, 3, 1]))
    (dx,) = sg.gradients(sg.sum((x + x)[:2] * sg.Constant(np.array([1.0, 3.0]))), [x])
    (dE,) = sg.gradients(sg.sum(sg.embedding_lookup(E + E, ids)), [E])
    expected_dE = np.zeros((4, 2))
    np.add.at(expected_dE, [1, 3, 1], 2.0)
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            gx, gE = sess.run([dx, dE], {x: np.ones(3), E: np.ones((4, 2))})
        np.testing.assert_allclose(gx, [2.0, 6.0, 0.0])
        np.testing.assert_allclose(gE, expected_dE)


def test_where_with_an_unsafe_branch_is_nan_and_the_documented_safe_form_is_not():
    """As in TF1 and PyTorch; the where() docstring says so and gives the safe form."""
    x = sg.Placeholder((3,), dtype="float64", name="x")
    (unsafe,) = sg.gradients(sg.sum(sg.where(x > 0, sg.sqrt(x), 0)), [x])
    (safe,) = sg.gradients(sg.sum(sg.where(x > 0, sg.sqrt(sg.where(x > 0, x, 1.0)), 0)), [x])
    with sg.Session() as sess, np.errstate(divide="ignore", invalid="ignore"):
        u, s = sess.run([unsafe, safe], {x: np.array([0.0, 1.0, 4.0])})
    assert np.isnan(u[0])
    np.testing.assert_allclose(s, [0.0, 0.5, 0.25])
    assert "sqrt(sg.where(x > 0, x, 1.0))" in sg.where.__doc__


def test_gradients_mistakes_found_by_a_bug_hunt_say_what_to_do():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    l1, l2 = sg.sum(x), sg.sum(x * x)
    with pytest.raises(sg.GradientError, match=r"add them: gradients\(loss1 \+ loss2"):
        sg.gradients([l1, l2], [x])
    with pytest.raises(sg.GradientError, match=r"got a ndarray of shape \(3,\)") as caught:
        sg.gradients(l1, [np.zeros(3)])
    assert "array([" not in str(caught.value)
    other = sg.Graph()
    with other.as_default():
        g = sg.Constant(np.ones(3))
    with pytest.raises(sg.GradientError, match="grad_y Const.* belongs to another Graph than y"):
        sg.gradients(x * 2, [x], grad_y=g)
