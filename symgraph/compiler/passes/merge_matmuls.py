"""merge_matmuls: turn many small matmuls into one big one.

Backpropagation through an unrolled RNN gives each weight one gradient term
per step, and autodiff adds them up:

    dWh = h0.T @ g1  +  h1.T @ g2  +  ...  +  h31.T @ g32

That is 32 small matrix products and 31 additions. But a sum of products is
itself one product, of the operands laid side by side:

    A1 @ B1 + A2 @ B2 + ...  ==  [A1 A2 ...] @ [B1; B2; ...]
                             ==  concat(A, axis=1) @ concat(B, axis=0)

One big matmul runs much closer to the machine's peak than many small ones
(and can use every core), and the additions disappear. Two more rules follow
the same idea:

Rules (each named in the report):
  sum-of-matmuls    A1 @ B1 + ... + An @ Bn        -> concat(A, 1) @ concat(B, 0)
  sum-of-row-sums   sum_to(x1) + ... + sum_to(xn)  -> sum_to(concat(x, 0))
                    (the bias gradient of the same RNN)
  concat-of-matmuls concat(A1 @ W, ..., An @ W)    -> concat(A, 0) @ W
                    (the embedding gradient: every step's term goes through W)

A sum is found as a tree of `add` vertices, every one of the sum's own shape
and dtype (no broadcasting), each read only by the next add. Its terms that
qualify are merged; any other terms are added to the merged result as before.
A term, or a concatenated matmul, must be read by nothing else: if it were, it
would be computed anyway and merging would save nothing.

When it pays: a concatenation copies its operands, and that is not free. A
rule fires only when the copying costs less than what it saves, counted in
elements touched (see `_worth_it`; a concatenation that will be a view, or
whose parts are computed straight into it, copies nothing:
concatenations.elements_copied), so the sizes must be known (the Session
compiles for the shapes it is fed, so they are). A concatenation of the same
terms is made once and shared: the gradients of Wh, Wx and the bias above all
concatenate the same g's. How each concatenation is had as cheaply as it can be
is in concatenations.py. Rounding: products are summed in another order, so
results can differ in the last bits, as they do between NumPy and PyTorch.

Laid out to copy as little as possible:
- The terms go in the order the forward pass made their left operands (an
  RNN's first step first), whatever order autodiff added them in. That is the
  order the forward pass stacked its states in, and the order of the
  backward's per-step slices of the output layer's gradient.
- A concatenation of consecutive parts of a concatenation (or stack) the graph
  already has is a slice of it, a view: dWh's left side, h0 ... h30, is most of
  the stacked states h0 ... h31, and its right side most of dWx's.
- A product with an all-zeros constant (the term of an RNN's zero initial
  state) is left out of the merge and added on its own, as before: in the
  merge it would break those runs.

Merged in chunks: every term of a merged sum must be alive at its one big
product, where unmerged each is added in and dropped. So a long sum is cut into
chunks of about 512 rows (costs.row_chunks: 16 steps of an RNN at 32 sequences a
batch), each merged as soon as its terms are made, and the chunks' products are
added up as they come. A product over 512 rows runs about as fast per row as one
over 1,024, and only one chunk's terms are alive at a time. The sums share their
chunks: a sum whose terms are a run of a concatenation another sum made keeps that
run (dWh's g1 ... g15 is a slice of dWx's g0 ... g15); split_rows cuts the output
layer's gradient into the same chunks, so each chunk's g's are written over it.
"""

from __future__ import annotations

import networkx as nx

from symgraph.compiler.passes.concatenations import (
    Builder,
    Site,
    elements_copied,
    side,
    size,
    untransposed,
)
from symgraph.compiler.passes.costs import CALL_COST
from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import (
    is_constant,
    op_name,
    position,
    readers,
    remove_dead,
    replace_uses,
    start,
    topological,
)
from symgraph.ops.base import is_known
from symgraph.ops.linalg import MatMul
from symgraph.ops.math import Add
from symgraph.ops.shape import Concat, SumTo


def _is_inner_add(ir, key, kept) -> bool:
    """True for an add that is part of a larger sum: read by one add of its own type."""
    if op_name(ir, key) != "add" or key in kept or readers(ir, key) != 1:
        return False
    (consumer,) = ir.successors(key)
    return op_name(ir, consumer) == "add" and _same_type(ir, key, consumer)


def _same_type(ir, a, b) -> bool:
    return ir.nodes[a]["shape"] == ir.nodes[b]["shape"] and ir.nodes[a]["dtype"] == ir.nodes[b]["dtype"]


def _leaves(ir, root, kept) -> list:
    """The terms of the sum whose last add is `root`, in order (a loop, not recursion)."""
    leaves, work = [], [root]
    while work:
        key = work.pop()
        if key == root or _is_inner_add(ir, key, kept):
            work.extend(reversed(ir.nodes[key]["inputs"]))  # reversed: pop keeps the order
        else:
            leaves.append(key)
    return leaves


def _private(ir, leaf, root, kept) -> bool:
    """A term only this sum reads (else it must be computed anyway, and merging saves nothing)."""
    return leaf not in kept and readers(ir, leaf) == 1 and _same_type(ir, leaf, root)


def _is_2d_matmul(ir, key) -> bool:
    if op_name(ir, key) != "matmul":
        return False
    a, b = ir.nodes[key]["inputs"]
    return len(ir.nodes[a]["shape"]) == 2 and len(ir.nodes[b]["shape"]) == 2


def _by_zeros(ir, key) -> bool:
    """A product with an all-zeros constant (an RNN's zero initial state): left out of
    a merge (see the module's docstring), and computed as written, NaNs and all."""
    return op_name(ir, key) == "matmul" and any(is_constant(ir, i, 0) for i in ir.nodes[key]["inputs"])


def _is_row_sum(ir, key) -> bool:
    """sum_to that sums a 2-D x over its first axis only: (r, n) -> (n,) or (1, n)."""
    # (one with a second input, `like`, is left as it is: see ops.shape.sum_to_shape)
    if op_name(ir, key) != "sum_to" or len(ir.nodes[key]["inputs"]) != 1:
        return False
    (x,) = ir.nodes[key]["inputs"]
    shape = ir.nodes[x]["shape"]
    target = ir.nodes[key]["attrs"]["shape"]
    return len(shape) == 2 and tuple(target) in ((shape[1],), (1, shape[1])) and shape[1] != 1


def _worth_it(copied: int, calls_saved: int, added_elements: int) -> bool:
    """Merging copies `copied` elements and makes 2 new calls; it saves `calls_saved`
    calls and `added_elements` elements of additions."""
    return copied + 2 * CALL_COST <= added_elements + calls_saved * CALL_COST


def _merge_matmuls(ir, build, root, terms) -> list:
    """[(one matmul, the terms it stands for)] for each chunk of the matmul terms whose
    merge pays; [] when none does."""
    a_parts = [ir.nodes[t]["inputs"][0] for t in terms]
    b_parts = [ir.nodes[t]["inputs"][1] for t in terms]
    for parts in (a_parts, b_parts):
        if not all(is_known(ir.nodes[p]["shape"]) for p in parts):
            return []
        if len({ir.nodes[p]["dtype"] for p in parts}) != 1:
            return []
    # the forward pass's order (see the module's docstring): by where each left operand
    # (under its transpose, if it has one) is made
    order = sorted(range(len(terms)), key=lambda i: position(ir, untransposed(ir, a_parts[i])
                                                               or a_parts[i]))
    terms = [terms[i] for i in order]
    a_parts, b_parts = [a_parts[i] for i in order], [b_parts[i] for i in order]
    merged = []
    chunks = build.chunks(b_parts)
    for first, stop, shared in chunks:
        if stop - first < 2:
            continue
        a, b = a_parts[first:stop], b_parts[first:stop]
        site = build.site(root, a + b, shared, whole=len(chunks) == 1)
        copied = elements_copied(ir, build, site, a, 1) + elements_copied(ir, build, site, b, 0)
        if not _worth_it(copied, 2 * (len(a) - 1), (len(a) - 1) * size(ir, root)):
            continue
        rule = "sum-of-matmuls"
        lhs = side(ir, build, site, a, 1, rule, "concat_lhs")
        rhs = side(ir, build, site, b, 0, rule, "concat_rhs")
        data = ir.nodes[root]
        key = build.new(site, MatMul(), [lhs, rhs], {}, data["shape"], data["dtype"], "merged_matmul")
        build.report.add("added", key, ir.nodes[key]["name"], rule)
        merged.append((key, terms[first:stop]))
    return merged


def _merge_row_sums(ir, build, root, terms) -> list:
    """[(one sum_to, the terms it stands for)] for each chunk of the row-sum terms whose
    merge pays; [] when none does."""
    xs = [ir.nodes[t]["inputs"][0] for t in terms]
    if not all(is_known(ir.nodes[x]["shape"]) for x in xs) or len({ir.nodes[x]["dtype"] for x in xs}) != 1:
        return []
    if len({ir.nodes[t]["attrs"]["shape"] for t in terms}) != 1:
        return []
    term_of = dict(zip(xs, terms))
    xs = build.in_made_order(xs)  # a row sum's order does not matter: share the matmuls' chunks
    merged = []
    chunks = build.chunks(xs)
    for first, stop, shared in chunks:
        if stop - first < 2:
            continue
        chunk = xs[first:stop]
        site = build.site(root, chunk, shared, whole=len(chunks) == 1)
        copied = elements_copied(ir, build, site, chunk, 0, any_order=True)
        if not _worth_it(copied, 2 * (len(chunk) - 1), (len(chunk) - 1) * size(ir, root)):
            continue
        rule = "sum-of-row-sums"
        x = build.concat(site, chunk, 0, rule, any_order=True)
        data = ir.nodes[root]
        key = build.new(site, SumTo(), [x], dict(ir.nodes[terms[0]]["attrs"]), data["shape"],
                        data["dtype"], "merged_sum")
        build.report.add("added", key, ir.nodes[key]["name"], rule)
        merged.append((key, [term_of[x] for x in chunk]))
    return merged


def _merge_concat(ir, build, key, kept):
    """concat(A1 @ W, ..., An @ W, axis=0) -> concat(A, 0) @ W, or None.

    Cut into chunks as the sums are (build.chunks): concat(concat(A1..Ak) @ W, ...),
    each chunk's product computed straight into its place."""
    data = ir.nodes[key]
    parts = data["inputs"]
    if data["attrs"]["axis"] != 0 or len(parts) < 2 or len(set(parts)) != len(parts):
        return None
    if not all(_is_2d_matmul(ir, p) and p not in kept and readers(ir, p) == 1 for p in parts):
        return None
    weights = {ir.nodes[p]["inputs"][1] for p in parts}
    a_parts = [ir.nodes[p]["inputs"][0] for p in parts]
    if len(weights) != 1 or not all(is_known(ir.nodes[a]["shape"]) for a in a_parts):
        return None
    if len({ir.nodes[a]["dtype"] for a in a_parts}) != 1 or not is_known(data["shape"]):
        return None
    (w,) = weights
    rule = "concat-of-matmuls"
    pieces, merged_any = [], False
    for first, stop, shared in build.chunks(a_parts):
        chunk = a_parts[first:stop]
        rows = sum(ir.nodes[a]["shape"][0] for a in chunk)
        site = build.site(key, chunk, shared, whole=(first, stop) == (0, len(parts)))
        # before: a matmul per part, and the concat copies their results; after: one
        # matmul, and the concat copies the A's (nothing, if a sum above already made it)
        copied = elements_copied(ir, build, site, chunk, 0)
        if len(chunk) < 2 or not _worth_it(copied, len(chunk) - 1, rows * data["shape"][1]):
            pieces.extend(parts[first:stop])
            continue
        a = build.concat(site, chunk, 0, rule, "concat_lhs")
        merged = build.new(site, MatMul(), [a, w], {}, (rows, data["shape"][1]), data["dtype"],
                           "merged_matmul")
        build.report.add("added", merged, ir.nodes[merged]["name"], rule)
        pieces.append(merged)
        merged_any = True
    if not merged_any:
        return None
    if len(pieces) == 1:
        return pieces[0]
    joined = build.new(Site.of(ir, key), Concat(), pieces, {"axis": 0}, data["shape"], data["dtype"],
                       "merged_concat")
    build.report.add("added", joined, ir.nodes[joined]["name"], rule)
    return joined


def _sums(ir, kept, order) -> list:
    """(root, terms) of every sum of 3 or more terms, in run order (`order`)."""
    found = []
    for key in order:
        if op_name(ir, key) == "add" and not _is_inner_add(ir, key, kept) and is_known(ir.nodes[key]["shape"]):
            leaves = _leaves(ir, key, kept)
            if len(leaves) >= 3:
                found.append((key, leaves))
    return found


def _add_up(ir, build, root, merged, rest, rule) -> int:
    """The sum of the merged chunks' results, then of the terms left as they were.

    The chunks are added as they are made (in run order), each where the later of
    the two is ready, so a chunk's concatenation can be let go before the next
    chunk is made; the other terms are added where the sum stood, as before."""
    data = ir.nodes[root]
    results = sorted((key for key, _ in merged), key=lambda k: position(ir, k))
    chunk_results = set(results)
    total = results[0]
    for key in [*results[1:], *rest]:
        site = Site.after(ir, root, key) if key in chunk_results else Site.of(ir, root)
        total = build.new(site, Add(), [total, key], {}, data["shape"], data["dtype"], "add")
        build.report.add("added", total, ir.nodes[total]["name"], rule)
    return total


def merge_matmuls(ir: nx.DiGraph):
    report = Report("merge_matmuls")
    ir = start(ir)
    kept = set(ir.graph["fetches"]) | set(ir.graph["updates"])
    build = Builder(ir, report)
    order = topological(ir)
    sums = _sums(ir, kept, order)
    concats = [k for k in order if op_name(ir, k) == "concat"]
    # matmuls first, everywhere, so that a row sum can reuse their concatenations
    for rule, qualifies, merge in (
        ("sum-of-matmuls", _is_2d_matmul, _merge_matmuls),
        ("sum-of-row-sums", _is_row_sum, _merge_row_sums),
    ):
        chosen_terms = [
            [t for t in leaves if _private(ir, t, root, kept) and qualifies(ir, t) and not _by_zeros(ir, t)]
            for root, leaves in sums
        ]
        # the sums with the most terms first: a smaller one may then be a slice of
        # their concatenations (dWh's g1 ... g31 of dWx's g0 ... g31)
        for index in sorted(range(len(sums)), key=lambda i: -len(chosen_terms[i])):
            root, leaves = sums[index]
            terms = chosen_terms[index]
            if len(terms) < 2 or len(set(terms)) != len(terms):  # x + x: a term read twice
                continue
            merged = merge(ir, build, root, terms)
            if not merged:
                continue
            chosen = {t for _, chunk in merged for t in chunk}
            rest = [t for t in leaves if t not in chosen]
            total = _add_up(ir, build, root, merged, rest, rule)
            report.add("replaced", root, ir.nodes[root]["name"], rule, into=ir.nodes[total]["name"])
            replace_uses(ir, root, total)
            # the sum now ends at total; its terms are the merged chunks' and the rest
            sums[index] = (total, [key for key, _ in merged] + rest)
            if root in kept:  # an update or fetch that was the sum: keep the new one
                kept.add(total)
    for key in concats:
        merged = _merge_concat(ir, build, key, kept)
        if merged is not None:
            report.add("replaced", key, ir.nodes[key]["name"], "concat-of-matmuls",
                       into=ir.nodes[merged]["name"])
            replace_uses(ir, key, merged)
            if key in kept:
                kept.add(merged)
    remove_dead(ir, report, "merged into one bigger operation")
    return ir, report
