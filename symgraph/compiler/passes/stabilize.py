"""stabilize: rewrite formulas that overflow or lose precision into stable ones.

Rules (each named in the report):
  log-softmax      log(softmax(x))        -> log_softmax(x)
                   softmax can underflow to 0, and log(0) = -inf; log_softmax
                   computes x - max - log(sum(exp(x - max))) and never does.
  log-sigmoid      log(sigmoid(x))        -> -softplus(-x)
                   sigmoid(-800) is 0 in floats; -softplus(-x) is exact.
  softmax-xent     mean(-sum(one_hot(y) * log_softmax(x), axis=-1))
                                          -> softmax_cross_entropy(x, y)
                   the cross-entropy written out by hand becomes the fused op,
                   whose gradient is the single expression softmax - onehot.
  log-softmax-grad  s * (g/s - sum(g/s * s)), the gradient autodiff builds for
                   log(softmax(x)) (s the softmax)  ->  g - s * sum(g)
                   the rewrite above fixes the value; this one fixes its gradient,
                   which would divide by a softmax that underflowed to 0.
  log-sigmoid-grad  (g/s * s) * (1 - s), the gradient autodiff builds for
                   log(sigmoid(x)) (s the sigmoid)  ->  g * sigmoid(-x)
                   the same for log(sigmoid): where s underflowed to 0 the
                   gradient was 0/0, NaN, beside a finite loss.
The rules run in topological order, so log(softmax) is already log_softmax
by the time the cross-entropy rule looks at it.
"""

from __future__ import annotations

import networkx as nx

from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import (
    add_vertex,
    is_constant,
    op_name,
    remove_dead,
    replace_uses,
    start,
    topological,
)
from symgraph.ops.math import Cast, Mul, Neg, Sigmoid, Softplus, Sub
from symgraph.ops.nn import LogSoftmax, SoftmaxCrossEntropy
from symgraph.ops.reduce import Sum


def _new(ir, key, op, inputs, attrs, suffix, like=None):
    data = ir.nodes[like if like is not None else key]
    return add_vertex(
        ir, op=op, inputs=inputs, attrs=attrs, shape=data["shape"], dtype=data["dtype"],
        name=f"{ir.nodes[key]['name']}/{suffix}", origin=ir.nodes[key]["origin"],
        order=key,
    )


def _as_float(ir, key, x, s):
    """x itself when it is a float; else x cast to the sigmoid s's float dtype, so that
    -x is negated as a float (in uint8, -200 wraps to 56; in int8, -(-128) is -128)."""
    if ir.nodes[x]["dtype"].kind in "fc":
        return x
    return _new(ir, key, Cast(), [x], {"dtype": ir.nodes[s]["dtype"].name}, "float_x", like=s)


def _log_softmax(ir, key):
    (s,) = ir.nodes[key]["inputs"]
    if op_name(ir, s) != "softmax":
        return None
    (x,) = ir.nodes[s]["inputs"]
    return "log-softmax", _new(ir, key, LogSoftmax(), [x], dict(ir.nodes[s]["attrs"]), "log_softmax")


def _log_sigmoid(ir, key):
    """-x has x's dtype, but softplus(-x) has the log's (an int x gives floats)."""
    (s,) = ir.nodes[key]["inputs"]
    if op_name(ir, s) != "sigmoid":
        return None
    (x,) = ir.nodes[s]["inputs"]
    minus_x = _new(ir, key, Neg(), [_as_float(ir, key, x, s)], {}, "neg_x", like=s)
    soft = _new(ir, key, Softplus(), [minus_x], {}, "softplus")
    return "log-sigmoid", _new(ir, key, Neg(), [soft], {}, "neg")


def _softmax_xent(ir, key):
    """mean(neg(sum(mul(one_hot(y), log_softmax(x)), axis=-1))) over all positions.

    softmax_cross_entropy answers in the logits' dtype; a one-hot of a wider dtype
    (float32 logits, float64 one-hot) makes the written-out loss wider, so it stays.
    """
    data = ir.nodes[key]
    if data["attrs"].get("axis") is not None or data["attrs"].get("keepdims"):
        return None
    (n,) = data["inputs"]
    if op_name(ir, n) != "neg":
        return None
    (s,) = ir.nodes[n]["inputs"]
    if op_name(ir, s) != "sum" or ir.nodes[s]["attrs"]["keepdims"]:
        return None
    (m,) = ir.nodes[s]["inputs"]
    if op_name(ir, m) != "mul":
        return None
    a, b = ir.nodes[m]["inputs"]
    if op_name(ir, a) == "log_softmax":
        a, b = b, a
    if op_name(ir, a) != "one_hot" or op_name(ir, b) != "log_softmax":
        return None
    last = len(ir.nodes[b]["shape"]) - 1
    if ir.nodes[s]["attrs"]["axis"] != (last,) or ir.nodes[b]["attrs"]["axis"] != last:
        return None
    if ir.nodes[m]["shape"] != ir.nodes[b]["shape"] or ir.nodes[a]["shape"] != ir.nodes[b]["shape"]:
        return None  # the one-hot or the logits broadcast: labels that do not fit the fused op
    (y,) = ir.nodes[a]["inputs"]
    (x,) = ir.nodes[b]["inputs"]
    if ir.nodes[a]["attrs"]["depth"] != ir.nodes[x]["shape"][-1]:
        return None
    if ir.nodes[x]["dtype"] != data["dtype"]:
        return None
    return "softmax-xent", _new(ir, key, SoftmaxCrossEntropy(), [x, y], {}, "softmax_xent")


def _log_softmax_grad(ir, key):
    """The gradient autodiff builds for log(softmax(x)), made stable.

    log's gradient is g / s and softmax's is s * (h - sum(h * s)); together
        s * (g/s - sum(g/s * s))  ==  g - s * sum(g)
    and the right-hand side never divides by a softmax that underflowed to 0.
    """
    data = ir.nodes[key]
    s, diff = data["inputs"]
    if op_name(ir, s) != "softmax" or op_name(ir, diff) != "sub":
        return None
    d, r = ir.nodes[diff]["inputs"]
    if op_name(ir, d) != "div" or op_name(ir, r) != "sum":
        return None
    g, s2 = ir.nodes[d]["inputs"]
    (m,) = ir.nodes[r]["inputs"]
    axis = ir.nodes[s]["attrs"]["axis"]
    if s2 != s or op_name(ir, m) != "mul" or sorted(ir.nodes[m]["inputs"]) != sorted([d, s]):
        return None
    if ir.nodes[r]["attrs"] != {"axis": (axis,), "keepdims": True}:
        return None
    if ir.nodes[g]["shape"] != data["shape"] or ir.nodes[g]["dtype"] != data["dtype"]:
        return None
    total = _new(ir, key, Sum(), [g], {"axis": (axis,), "keepdims": True}, "sum_g", like=r)
    scaled = _new(ir, key, Mul(), [s, total], {}, "s_sum_g")
    return "log-softmax-grad", _new(ir, key, Sub(), [g, scaled], {}, "stable_grad")


def _log_sigmoid_grad(ir, key):
    """The gradient autodiff builds for log(sigmoid(x)), made stable.

    log's gradient is g / s and sigmoid's is h * s * (1 - s); together
        (g/s * s) * (1 - s)  ==  g * (1 - s)  ==  g * sigmoid(-x)
    and sigmoid(-x) is exact where 1 - s would lose the small values to rounding.
    """
    data = ir.nodes[key]
    left, right = data["inputs"]
    if op_name(ir, left) != "mul" or op_name(ir, right) != "sub":
        return None
    d, s = ir.nodes[left]["inputs"]
    one, s2 = ir.nodes[right]["inputs"]
    if op_name(ir, s) != "sigmoid" or s2 != s or not is_constant(ir, one, 1):
        return None
    if op_name(ir, d) != "div" or ir.nodes[d]["inputs"][1] != s:
        return None
    g = ir.nodes[d]["inputs"][0]
    (x,) = ir.nodes[s]["inputs"]
    if ir.nodes[g]["shape"] != data["shape"] or ir.nodes[g]["dtype"] != data["dtype"]:
        return None  # g broadcast against s: the plain form keeps its shape rule
    minus_x = _new(ir, key, Neg(), [_as_float(ir, key, x, s)], {}, "neg_x", like=s)
    sigmoid_minus_x = _new(ir, key, Sigmoid(), [minus_x], {}, "sigmoid_neg_x", like=s)
    return "log-sigmoid-grad", _new(ir, key, Mul(), [g, sigmoid_minus_x], {}, "stable_grad")


RULES = {
    "log": (_log_softmax, _log_sigmoid),
    "mean": (_softmax_xent,),
    "mul": (_log_softmax_grad, _log_sigmoid_grad),
}


def stabilize(ir: nx.DiGraph):
    report = Report("stabilize")
    ir = start(ir)
    for key in list(topological(ir)):
        if key not in ir or ir.nodes[key]["kind"] != "op":
            continue
        for rule in RULES.get(op_name(ir, key), ()):
            first_new = ir.graph["next_key"]
            found = rule(ir, key)
            if found is None:
                continue
            name, new = found
            # every vertex the rule made (log-sigmoid makes three), in the order made
            for added in range(first_new, ir.graph["next_key"]):
                report.add("added", added, ir.nodes[added]["name"], name)
            report.add("replaced", key, ir.nodes[key]["name"], name, into=ir.nodes[new]["name"])
            replace_uses(ir, key, new)
            break
    remove_dead(ir, report, "replaced by a stable form")
    return ir, report
