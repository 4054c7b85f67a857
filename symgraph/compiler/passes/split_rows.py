"""split_rows: compute a product's rows a chunk at a time, just before they are needed.

An RNN's output layer is often one product over all its steps' states:

    logits = reshape(stack(h0 ... h31), (-1, H)) @ Wo

Its gradient gives every step's dh at once, dH = dlogits @ Wo.T, one
(steps * batch, H) array, which backpropagation through time then reads one
step at a time, the last step first. So the whole of dH is alive from the
start of the backward pass to its end: 1 MB for the W2 benchmark's RNN, as
much as all its hidden states, where hand-written NumPy makes one step's 32 KB
at a time.

Rows of a product are products of rows, (A @ B)[rows] == A[rows] @ B, so dH
is made in chunks of steps (costs.row_chunks: 16 steps of 32 rows), each just
before the first of its steps is needed:

    dH[16:32] = dlogits[512:1024] @ Wo.T      (just before step 31's gradient)
    dH[0:16]  = dlogits[0:512] @ Wo.T         (just before step 15's gradient)

Then only one chunk is alive at a time. The price: a few more calls, and
dlogits (here half of dH's size) stays alive until the last chunk is made.
merge_matmuls cuts the steps' gradient terms into the same chunks, so each
chunk's terms can still be written over the chunk they come from (see
in_place.landing).

Rule (named in the report):
  rows-on-demand   reshape(A @ B, (k, r, n))[t], for every t read
                   -> reshape(A[rows of t's chunk] @ B, (c, r, n))[t - chunk's first]

It fires for a 2-D product read only through one reshape into blocks of rows,
each reader taking one whole block (an int index), when that makes two chunks
or more. Each element is the same dot product as before; only BLAS's choice of
kernel for a smaller product may round it differently in the last bit.
"""

from __future__ import annotations

import networkx as nx

from symgraph.compiler.passes.costs import row_chunks
from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import (
    add_vertex,
    just_before,
    op_name,
    position,
    readers,
    remove_dead,
    replace_all,
    start,
)
from symgraph.ops.base import is_known
from symgraph.ops.linalg import MatMul
from symgraph.ops.shape import GetItem, Reshape

RULE = "rows-on-demand"


def split_rows(ir: nx.DiGraph):
    report = Report("split_rows")
    ir = start(ir)
    kept = set(ir.graph["fetches"]) | set(ir.graph["updates"])
    found = {}
    for key, data in ir.nodes(data=True):  # (data at hand: no lookup per vertex)
        if data["kind"] == "op" and data["op"].name == "matmul":
            blocks = _blocks(ir, key, kept)
            if blocks is not None and len(row_chunks([blocks[1]] * blocks[0])) > 1:
                found[key] = blocks
    for key, blocks in found.items():
        _split(ir, key, *blocks, report)
    remove_dead(ir, report, "computed a chunk at a time")
    return ir, report


def _blocks(ir, key, kept):
    """(k, r, {block t: [the getitems that read it]}) when the product `key` is read
    only as blocks of rows of one reshape (k, r, n) of it; else None."""
    if readers(ir, key) != 1:  # (the cheapest test first: most products fail it or the next)
        return None
    (reshape,) = ir.successors(key)
    if op_name(ir, reshape) != "reshape" or reshape in kept or key in kept:
        return None
    data = ir.nodes[key]
    shape = data["shape"]
    blocks_shape = ir.nodes[reshape]["shape"]
    if len(shape) != 2 or not is_known(shape) or len(blocks_shape) != 3:
        return None
    if len(ir.nodes[data["inputs"][0]]["shape"]) != 2:
        return None
    k, r, n = blocks_shape
    if n != shape[1] or k * r != shape[0]:
        return None
    blocks: dict[int, list] = {}
    for user in ir.successors(reshape):
        index = ir.nodes[user]["attrs"].get("index") if op_name(ir, user) == "getitem" else None
        if user in kept or not index or len(index) != 1 or not isinstance(index[0], int):
            return None  # something reads more than one block, or reads them otherwise
        blocks.setdefault(index[0] % k, []).append(user)
    return k, r, blocks


def _split(ir, key, k, r, blocks, report) -> None:
    chunks = row_chunks([r] * k)
    data = ir.nodes[key]
    a, b = data["inputs"]
    n = data["shape"][1]
    replaced = {}

    def new(op, inputs, attrs, shape, name, at):
        made = add_vertex(ir, op=op, inputs=inputs, attrs=attrs, shape=shape, dtype=data["dtype"],
                          name=name, origin=data["origin"], node=data["node"], at=at)
        report.add("added", made, name, RULE)
        return made

    for first, stop in chunks:
        users = [g for t in range(first, stop) for g in blocks.get(t, ())]
        if not users:  # no step reads these rows: they are not computed at all
            continue
        # just before the first instruction that needs one of the chunk's rows (a
        # getitem is a view: what needs the rows is what reads it). Its inputs come
        # before `key`, which came before that instruction, so the order stays valid.
        needed = min(position(ir, c) for g in users for c in (list(ir.successors(g)) or [g]))
        at = just_before(needed)
        name = f"{data['name']}/rows_{first * r}_{stop * r}"
        rows = new(GetItem(), [a], {"index": (("slice", first * r, stop * r, None),)},
                   ((stop - first) * r, ir.nodes[a]["shape"][1]), f"{name}/lhs", at)
        product = new(MatMul(), [rows, b], {}, ((stop - first) * r, n), name, at)
        chunk = new(Reshape(), [product], {"shape": (stop - first, r, n)}, (stop - first, r, n),
                    f"{name}/blocks", at)
        for t in range(first, stop):
            for g in blocks.get(t, ()):
                replaced[g] = new(GetItem(), [chunk], {"index": (t - first,)}, (r, n),
                                  ir.nodes[g]["name"], at)
    report.add("replaced", key, data["name"], RULE, into=f"{len(chunks)} chunks of rows")
    replace_all(ir, replaced)

