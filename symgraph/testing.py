"""Check symbolic gradients against finite differences, for symgraph's ops and yours.

    def swish(x):
        return x * sg.sigmoid(x)

    sg.testing.check_gradients(swish, [np.random.randn(3, 4)])

The symbolic gradient (what `sg.gradients` builds) is compared with the
central difference (f(x + eps) - f(x - eps)) / 2 eps, element by element, in
float64. A mismatch raises GradientCheckError naming the worst element.
"""

from __future__ import annotations

import numpy as np

from symgraph.autodiff import gradients
from symgraph.errors import SymgraphError
from symgraph.graph import Graph, Node, Placeholder
from symgraph.ops.base import is_float
from symgraph.ops.reduce import sum as reduce_sum
from symgraph.session import Session


class GradientCheckError(SymgraphError, AssertionError):
    """Symbolic and numerical gradients disagree."""


def check_gradients(fn, inputs, rtol=1e-5, atol=1e-7, eps=1e-6, seed=0) -> float:
    """Compare d fn(*inputs) / d input for every float input; return the worst error ratio.

    `fn` takes Nodes and returns a Node. Float inputs are checked in float64;
    integer inputs (labels, ids) are fed as they are and not differentiated.
    The output is reduced to sum(output * fixed random weights), so every element
    of it is checked, and a backward that ignores the gradient it is given is
    caught even for a scalar output. Each weight is divided by its element's size
    (when above 1), so that a big element's rounding does not swamp the finite
    differences of the others. The ratio returned is the largest
    |symbolic - numeric| / (atol + rtol * |numeric|); above 1 raises.
    """
    arrays = [np.asarray(a) for a in inputs]
    arrays = [a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a for a in arrays]
    graph = Graph()
    with graph.as_default():
        placeholders = [
            Placeholder(a.shape, dtype=a.dtype, name=f"input{i}") for i, a in enumerate(arrays)
        ]
        out = fn(*placeholders)
        if not isinstance(out, Node):
            raise TypeError(
                f"check_gradients' fn must return one Node, got {type(out).__name__}; "
                "to check several outputs, check each with its own fn"
            )
        raw = out
        weights = Placeholder(out.shape, dtype=out.dtype, name="weights")  # fed below: see _weights
        out = reduce_sum(raw * weights, name="weighted_sum")
        wrt = [(i, p) for i, p in enumerate(placeholders) if np.issubdtype(p.dtype, np.floating)]
        # an input fn does not use has no gradient to check: zeros, against zeros
        grads = gradients(out, [p for _, p in wrt], unconnected="zero")

    with Session(graph) as sess:
        feed = dict(zip(placeholders, arrays))
        feed[weights] = _weights(sess.run(raw, feed), seed)
        symbolic = sess.run(grads, feed)
        worst = (0.0, None)
        for (i, p), sym in zip(wrt, symbolic):
            numeric = _central_differences(sess, out, feed, p, eps)
            sym = np.asarray(sym, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                ratio = np.abs(sym - numeric) / (atol + rtol * np.abs(numeric))
            # a NaN or Inf on either side fails: NaN > worst is False, and would pass
            ratio = np.where(np.isfinite(sym) & np.isfinite(numeric), ratio, np.inf)
            if ratio.size and ratio.max() > worst[0]:
                at = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
                worst = (float(ratio.max()), (i, at, sym[at], numeric[at]))
    if worst[0] > 1.0:
        i, at, s, n = worst[1]
        if not (np.isfinite(s) and np.isfinite(n)):
            raise GradientCheckError(
                f"gradient of input {i} at index {tuple(int(k) for k in at)} is not finite: "
                f"symbolic {s:.8g}, numerical {n:.8g}",
                hint="the function or its backward gives NaN or Inf here: check the op's "
                "backward, or move the test input into the function's domain (sqrt and log "
                "need positive inputs)",
            )
        narrow = _narrowing(graph)
        raise GradientCheckError(
            f"gradient mismatch for input {i} at index {tuple(int(k) for k in at)}: "
            f"symbolic {s:.12g}, numerical {n:.12g} (error {worst[0]:.3g} times the tolerance "
            f"rtol={rtol}, atol={atol})",
            node=narrow,
            hint="check the op's backward; if the function has a kink near this input, move the "
            "test input away from it"
            if narrow is None
            else f"your op ignores the input dtype ({narrow.dtype} result for float64 inputs), "
            "and its rounding swamps the finite differences: make infer and forward keep the "
            "input's dtype (x.dtype), then check again",
        )
    return worst[0]


def _weights(values, seed) -> np.ndarray:
    """The weights of the output's elements in the checked sum: random, so that every
    element's gradient counts, and a scalar's well away from 1, so that a backward that
    ignores its incoming gradient (returning 2 * x for x**2, not grad * 2 * x) is
    caught. Each is divided by its element's size when that is above 1: exp([10, 20,
    30]) would otherwise sum to about 1e13, whose rounding alone is larger than the
    smaller elements' finite differences."""
    values = np.asarray(values)
    rng = np.random.default_rng(seed)
    random = rng.uniform(0.5, 1.5, size=values.shape) if values.ndim else np.asarray(rng.uniform(1.5, 2.5))
    with np.errstate(invalid="ignore"):
        size = np.where(np.isfinite(values), np.maximum(1.0, np.abs(values)), 1.0)
    return (random / size).astype(values.dtype)


def _narrowing(graph):
    """The first op Node that makes a float result narrower than float64 out of float64
    inputs, or None. The check runs in float64; an op that computes in float32 whatever
    it is given makes the differences too coarse, and the mismatch is then not its
    backward's fault. A deliberate sg.cast is not counted."""
    for node in graph.nodes:  # creation order: the forward op before its gradient
        if (
            not node.is_leaf
            and node.op.name != "cast"
            and is_float(node.dtype)
            and node.dtype != np.float64
            and any(i.dtype == np.float64 for i in node.inputs)
        ):
            return node
    return None


def _central_differences(sess, out, feed, placeholder, eps) -> np.ndarray:
    base = feed[placeholder]
    grad = np.zeros(base.shape, dtype=np.float64)
    for index in np.ndindex(base.shape):
        shifted = base.copy()
        shifted[index] = base[index] + eps
        up = sess.run(out, {**feed, placeholder: shifted})
        shifted[index] = base[index] - eps
        down = sess.run(out, {**feed, placeholder: shifted})
        grad[index] = (float(up) - float(down)) / (2 * eps)
    return grad
