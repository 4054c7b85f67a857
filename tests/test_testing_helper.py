"""sg.testing.check_gradients: passes a right gradient, names the worst element of a wrong one."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph import make_node
from symgraph.testing import GradientCheckError, check_gradients

RNG = np.random.default_rng(0)


class _SquareWithABug(sg.Op):
    """x**2 whose backward is right everywhere except at one element, (1, 2)."""

    name = "test_square_with_a_bug"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    elementwise = True

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return x * x

    def backward(self, node, grad):
        (x,) = node.inputs
        mistake = np.zeros(x.shape, dtype=x.dtype)
        mistake[1, 2] = 0.5
        return (grad * 2.0 * x + sg.Constant(mistake),)


class _Square(_SquareWithABug):
    name = "test_square"
    registered = False

    def backward(self, node, grad):
        (x,) = node.inputs
        return (grad * 2.0 * x,)


def test_a_correct_gradient_passes_and_returns_a_small_ratio():
    def swish(x):
        return x * sg.sigmoid(x)

    ratio = check_gradients(swish, [RNG.normal(size=(3, 4))])
    assert 0.0 <= ratio <= 1.0


def test_a_correct_custom_op_passes():
    assert check_gradients(lambda x: make_node(_Square(), (x,)), [RNG.normal(size=(2, 3))]) <= 1.0


def test_several_inputs_and_integer_labels_are_handled():
    logits = RNG.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 1])
    weights = RNG.normal(size=(3, 3))
    ratio = check_gradients(
        lambda z, y, w: sg.softmax_cross_entropy(z @ w, y), [logits, labels, weights]
    )
    assert ratio <= 1.0


def test_a_wrong_backward_raises_naming_the_worst_element():
    x = RNG.uniform(0.5, 1.5, size=(2, 3))
    with pytest.raises(GradientCheckError) as info:
        check_gradients(lambda v: make_node(_SquareWithABug(), (v,)), [x])
    message = str(info.value)
    assert "gradient mismatch for input 0 at index (1, 2)" in message
    assert "symbolic" in message and "numerical" in message
    assert "fix:" in message
    assert isinstance(info.value, AssertionError)  # pytest shows it as a failed check


def test_the_mismatch_is_reported_for_the_right_input():
    a, b = RNG.uniform(0.5, 1.5, size=(2, 3)), RNG.uniform(0.5, 1.5, size=(2, 3))
    with pytest.raises(GradientCheckError, match="for input 1 at index \\(1, 2\\)"):
        check_gradients(lambda p, q: p * make_node(_SquareWithABug(), (q,)), [a, b])


def test_float32_inputs_are_checked_in_float64():
    x = RNG.normal(size=(3,)).astype(np.float32)
    assert check_gradients(lambda v: sg.tanh(v) * v, [x], rtol=1e-7, atol=1e-9) <= 1.0


def test_check_gradients_takes_an_unused_input_and_says_fn_must_return_one_node():
    """Its error hinted at unconnected='zero', which it does not take (found by a bug hunt)."""
    assert sg.testing.check_gradients(lambda a, b: sg.tanh(a), [np.ones(3), np.ones(2)]) <= 1.0
    with pytest.raises(TypeError, match="fn must return one Node, got list"):
        sg.testing.check_gradients(lambda a: [sg.tanh(a), a * 2.0], [np.ones(3)])


class _Float32Tanh(sg.Op):
    """tanh computed in float32 whatever the input: its backward is right."""

    name = "test_float32_tanh"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    elementwise = True

    def infer(self, x):
        return x.shape, np.dtype("float32")

    def forward(self, x):
        return np.tanh(x).astype(np.float32)

    def backward(self, node, grad):
        return (grad * (1 - node * node),)


def test_an_op_that_ignores_the_input_dtype_is_told_so_not_that_its_backward_is_wrong():
    """float32 rounding made the finite differences wrong, and the failure said to check
    the backward (found by a bug hunt)."""
    with pytest.raises(GradientCheckError) as info:
        check_gradients(lambda x: make_node(_Float32Tanh(), (x,)), [np.linspace(-1, 1, 5)])
    message = str(info.value)
    assert "your op ignores the input dtype (float32 result for float64 inputs)" in message
    assert "node 'test_float32_tanh'" in message
    assert "check the op's backward" not in message


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_nan_gradient_fails_the_check():
    """sqrt at -1 passed, ratio 0.0, and so did a where() whose unused branch gives a NaN
    gradient (the classic where-of-sqrt trap): NaN > worst is False (found by a bug
    hunt). PyTorch's gradcheck fails both."""
    with pytest.raises(GradientCheckError, match=r"not finite: symbolic nan, numerical nan"):
        sg.testing.check_gradients(lambda a: sg.sqrt(a), [np.array([-1.0])])
    with pytest.raises(GradientCheckError, match=r"not finite: symbolic nan, numerical 0"):
        sg.testing.check_gradients(lambda a: sg.sum(sg.where(a > 0, sg.sqrt(a), 0.0)),
                                   [np.array([-1.0, 1.0])])


class _SquaredNormIgnoringGrad(sg.Op):
    """sum(x**2) whose backward forgets the incoming gradient: 2x, not grad * 2x."""

    name = "test_squared_norm_ignoring_grad"
    registered = False

    def infer(self, x):
        return (), x.dtype

    def forward(self, x):
        return np.sum(x * x)

    def backward(self, node, grad):
        (x,) = node.inputs
        return (x * 2.0,)


def test_a_scalar_op_whose_backward_ignores_its_incoming_gradient_fails():
    """The commonest mistake in a new op. A scalar output was checked unweighted, so the
    incoming gradient was always 1 and the mistake passed (found by a bug hunt)."""
    with pytest.raises(GradientCheckError, match="gradient mismatch"):
        check_gradients(lambda x: make_node(_SquaredNormIgnoringGrad(), (x,)), [RNG.normal(size=(3,))])


@pytest.mark.parametrize("fn", [sg.exp, lambda x: sg.sum(sg.exp(x))])
def test_outputs_of_very_different_sizes_do_not_swamp_each_other(fn):
    """exp([10, 20, 30]): the unweighted rounding of the 1e13 element was larger than the
    smaller elements' differences, and a correct exp failed the check."""
    assert check_gradients(fn, [np.array([10.0, 20.0, 30.0])]) < 1.0
