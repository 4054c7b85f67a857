"""scale_early: scale the smaller factor of a product, not the product.

SGD's update is `W - lr * dW`. When W is a layer's weight, dW is a product,
`x.T @ d`, and it is bigger than either factor: for an MLP's first layer (batch
128, 784 inputs, 256 units) dW has 200,704 numbers, d only 32,768. Multiplying
by lr then costs a pass over all of dW. But a number can be moved through a
product, `c * (A @ B) == A @ (c * B)`, so this pass multiplies the smaller factor
instead, and the update becomes one pass over dW: `W - x.T @ (lr * d)`.

Rule (named in the report):
  scale-the-smaller-factor   c * (A @ B) -> A @ (c * B), or (c * A) @ B,
                             whichever factor is smaller

It fires when c is a single number known before the run starts (a constant,
such as the learning rate, or a fed or Variable scalar), the product is 2-D, is
read by nothing else and is not fetched, and the smaller factor has at most half
as many numbers as the product. An eager framework cannot do this: it has
computed dW before it sees that dW is only ever multiplied by lr. Results can
differ in the last bits (the rounding happens in another place).
"""

from __future__ import annotations

import math

import networkx as nx

from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import add_vertex, op_name, readers, remove_dead, replace_uses, start
from symgraph.ops.linalg import MatMul
from symgraph.ops.math import Mul

RULE = "scale-the-smaller-factor"


def scale_early(ir: nx.DiGraph):
    report = Report("scale_early")
    ir = start(ir)
    # no order needed: each rewrite touches only a mul and its product
    for key in [k for k in ir.nodes if op_name(ir, k) == "mul"]:
        found = _match(ir, key)
        if found is not None:
            _rewrite(ir, key, *found, report)
    remove_dead(ir, report, "replaced by the product of the scaled factor")
    return ir, report


def _match(ir, key):
    """(scale, product, index of the factor to scale) when `key` is c * (A @ B) and
    scaling a factor instead is worth it; else None."""
    data = ir.nodes[key]
    for scale, product in (data["inputs"], reversed(data["inputs"])):
        s, p = ir.nodes[scale], ir.nodes[product]
        if (
            s["shape"] == ()
            and s["kind"] != "op"  # known before the run: no ordering to worry about
            and op_name(ir, product) == "matmul"
            and len(p["shape"]) == 2
            and None not in p["shape"]
            and (data["shape"], data["dtype"]) == (p["shape"], p["dtype"])
            and readers(ir, product) == 1
            and product not in ir.graph["fetches"]
        ):
            shapes = [ir.nodes[f]["shape"] for f in p["inputs"]]
            if any(None in shape for shape in shapes):
                return None  # a factor of unknown size (compiled without feed shapes)
            sizes = [math.prod(shape) for shape in shapes]
            smaller = min(range(2), key=lambda i: sizes[i])
            factor = ir.nodes[p["inputs"][smaller]]
            if 2 * sizes[smaller] <= math.prod(p["shape"]) and factor["dtype"] == p["dtype"]:
                return scale, product, smaller
    return None


def _rewrite(ir, key, scale, product, smaller, report) -> None:
    p = ir.nodes[product]
    factor = p["inputs"][smaller]
    f = ir.nodes[factor]
    # placed where the product was: after both factors, before whatever reads the result
    scaled = add_vertex(
        ir, op=Mul(), inputs=[scale, factor], shape=f["shape"], dtype=f["dtype"],
        name=f"{ir.nodes[key]['name']}/scaled_factor", origin=ir.nodes[key]["origin"],
        order=product, node=ir.nodes[key]["node"],
    )
    inputs = list(p["inputs"])
    inputs[smaller] = scaled
    new_product = add_vertex(
        ir, op=MatMul(), inputs=inputs, shape=p["shape"], dtype=p["dtype"],
        name=f"{ir.nodes[key]['name']}/product", origin=ir.nodes[key]["origin"],
        order=product, node=ir.nodes[key]["node"],
    )
    report.add("added", scaled, ir.nodes[scaled]["name"], RULE)
    report.add("added", new_product, ir.nodes[new_product]["name"], RULE)
    report.add("replaced", key, ir.nodes[key]["name"], RULE, into=ir.nodes[new_product]["name"])
    replace_uses(ir, key, new_product)
