"""simplify: remove the algebra that does nothing, most of it left behind by autodiff.

Rules (each named in the report):
  mul-by-one       x * 1, 1 * x, x * ones_like(..)  -> x (ones reshaped or broadcast too)
  add-zero         x + 0, 0 + x, x - 0              -> x   (for floats: x + -0.0, x - 0.0)
  div-by-one       x / 1                            -> x
  neg-neg          -(-x)                            -> x
  transpose-pair   transpose(transpose(x)) that undo each other -> x
  same-shape       reshape, sum_to, broadcast_to or squeeze to x's own shape -> x
  same-dtype       cast to the dtype x already has  -> x

A rule fires only when the result would have exactly x's shape and dtype
(so `x + zeros((3, 4))` stays when x is (4,): it broadcasts). Nothing that
could hide a NaN or Inf is rewritten: x * 0 is not 0 when x is Inf, so it stays.
Nor is the sign of a zero changed: in floats -0.0 + 0.0 is +0.0 (1 / x tells them
apart), so x + 0.0 stays, while x + -0.0 and x - 0.0 are x for every x.
Vertices are visited in topological order, so a chain such as -(-(x * 1)) is
simplified in one sweep.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import (
    constant_value,
    is_constant,
    is_weak,
    op_name,
    remove_dead,
    replace_uses,
    start,
    topological,
)


def _same_type(ir, key, other) -> bool:
    a, b = ir.nodes[key], ir.nodes[other]
    return a["shape"] == b["shape"] and a["dtype"] == b["dtype"] and None not in a["shape"]


def _same_type_any_dims(ir, key, other) -> bool:
    """Like _same_type, but None dims allowed: used where the op cannot change a dim."""
    a, b = ir.nodes[key], ir.nodes[other]
    return a["shape"] == b["shape"] and a["dtype"] == b["dtype"]


def _is_ones_like(ir, key) -> bool:
    """ones_like(..), a constant of ones, or one of those reshaped or broadcast: the
    gradient of a sum starts as broadcast_to(reshape(1.0)), which then multiplies."""
    while op_name(ir, key) in ("reshape", "broadcast_to", "expand_dims"):
        key = ir.nodes[key]["inputs"][0]
    return op_name(ir, key) == "ones_like" or is_constant(ir, key, 1)


def _adds_nothing(ir, key, dtype, op) -> bool:
    """Whether adding (op "add") or subtracting (op "sub") the constant `key` leaves
    every value of `dtype` as it is. For ints any 0 does. For floats the sign of the
    zero counts: -0.0 + 0.0 is +0.0, so only x + -0.0 and x - 0.0 keep a -0.0 x."""
    if not is_constant(ir, key, 0):
        return False
    if np.dtype(dtype).kind not in "fc":
        return True
    signs = np.signbit(np.asarray(constant_value(ir, key), dtype=float).real)
    return bool(np.all(signs)) if op == "add" else not bool(np.any(signs))


def _rule(ir, key):
    """(rule name, the vertex that can stand for `key`) or None."""
    data = ir.nodes[key]
    op, inputs = data["op"].name, data["inputs"]
    if data["kind"] != "op":
        return None
    if op == "mul":
        a, b = inputs
        if _is_ones_like(ir, b) and _same_type_any_dims(ir, key, a):
            return "mul-by-one", a
        if _is_ones_like(ir, a) and _same_type_any_dims(ir, key, b):
            return "mul-by-one", b
    if op == "add":
        a, b = inputs
        if _adds_nothing(ir, b, data["dtype"], "add") and _same_type_any_dims(ir, key, a):
            return "add-zero", a
        if _adds_nothing(ir, a, data["dtype"], "add") and _same_type_any_dims(ir, key, b):
            return "add-zero", b
    if op == "sub" and _adds_nothing(ir, inputs[1], data["dtype"], "sub") and _same_type_any_dims(
        ir, key, inputs[0]
    ):
        return "add-zero", inputs[0]
    if op == "div" and is_constant(ir, inputs[1], 1) and _same_type_any_dims(ir, key, inputs[0]):
        return "div-by-one", inputs[0]
    if op == "neg" and op_name(ir, inputs[0]) == "neg":
        return "neg-neg", ir.nodes[inputs[0]]["inputs"][0]
    if op == "transpose" and op_name(ir, inputs[0]) == "transpose":
        inner = ir.nodes[inputs[0]]
        x = inner["inputs"][0]
        ndim = len(ir.nodes[x]["shape"])
        first = inner["attrs"]["axes"] or tuple(reversed(range(ndim)))
        second = data["attrs"]["axes"] or tuple(reversed(range(ndim)))
        if tuple(first[i] for i in second) == tuple(range(ndim)):
            return "transpose-pair", x
    if op in ("reshape", "sum_to", "broadcast_to", "squeeze") and _same_type(ir, key, inputs[0]):
        return "same-shape", inputs[0]
    if op in ("sum_to", "squeeze") and _same_type_any_dims(ir, key, inputs[0]):
        return "same-shape", inputs[0]  # these never change a None dim
    if op == "cast" and ir.nodes[inputs[0]]["dtype"] == data["dtype"]:
        return "same-dtype", inputs[0]
    return None


def simplify(ir: nx.DiGraph):
    report = Report("simplify")
    ir = start(ir)
    for key in list(topological(ir)):
        if key not in ir:
            continue
        found = _rule(ir, key)
        if found is None:
            continue
        rule, stand_in = found
        if is_weak(ir, stand_in) and not is_weak(ir, key):
            # a weak constant runs as a Python number, where `key` made a 0-d array:
            # kernels that index or read .dtype need the array (fold computes it instead)
            continue
        report.add("replaced", key, ir.nodes[key]["name"], rule, into=ir.nodes[stand_in]["name"])
        replace_uses(ir, key, stand_in)
    remove_dead(ir, report, "left unused by simplify")
    return ir, report
