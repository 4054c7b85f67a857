"""Where merge_matmuls' big operands come from: concatenations of the terms it merges.

A merged product needs its terms side by side, and a concatenation copies them,
unless it can be had for free. The `Builder` makes each concatenation the
cheapest way it can:

- one it already made for the same parts (the gradients of a weight and of its
  bias concatenate the same terms), in any order where order does not matter;
- a slice of a concatenation or stack the graph already has, when the parts are
  a run of its parts (a view: dWh's h0 ... h30 of the stacked states h0 ... h31);
- rows concatenated and then transposed, a free view, rather than transposed
  parts concatenated column by column (`side`);

and says what one would copy (`elements_copied`), so that merge_matmuls can weigh it. It
also cuts a long run of terms into chunks (`Builder.chunks`, costs.row_chunks),
and places each chunk's vertices where they run (`Site`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from symgraph.compiler.passes.costs import row_chunks
from symgraph.compiler.rewrite import add_vertex, op_name, position, right_after
from symgraph.ops.linalg import Transpose
from symgraph.ops.shape import Concat, GetItem, Reshape


def size(ir, key) -> int:
    """How many elements vertex `key` has."""
    return math.prod(ir.nodes[key]["shape"])


class Site(NamedTuple):
    """Where new vertices go: named after the sum `root` they compute, and run at
    `where`, a run position (see rewrite.position)."""

    root: int
    where: tuple

    @classmethod
    def of(cls, ir, root) -> Site:
        """Where the sum stood (as before chunks)."""
        return cls(root, position(ir, root))

    @classmethod
    def after(cls, ir, root, key) -> Site:
        """As soon as `key` is made: right after it, and after a fused kernel that fuse
        later puts in its place (rewrite.right_after). But no later than where the sum
        stood: what reads the sum must still come after."""
        return cls(root, min(right_after(position(ir, key)), position(ir, root)))


class Builder:
    """Makes the new vertices for a sum, or a chunk of one, where a Site says, and
    reuses a concatenation this pass already made for the same inputs (the gradient
    of a weight and of its bias often concatenate the same terms), or slices one
    the graph has when the inputs are a run of its parts."""

    def __init__(self, ir, report):
        self.ir, self.report = ir, report
        self.concats: dict = {}  # (parts, axis) -> the concatenation made of them
        self.concat_sets: dict = {}  # (frozenset of parts, axis) -> a concat of them, any order
        self.made: set = set()  # the concatenations along axis 0 this pass made
        # part -> [(concat or stack along axis 0, index of the part)], for _slice_of
        self.part_of: dict = {}
        for key, data in ir.nodes(data=True):  # (data at hand: no lookup per vertex)
            if data["kind"] == "op" and data["op"].name in ("concat", "stack") and data["attrs"].get("axis") == 0:
                self._index(key)

    def _index(self, key) -> None:
        for i, part in enumerate(self.ir.nodes[key]["inputs"]):
            self.part_of.setdefault(part, []).append((key, i))

    def new(self, site, op, inputs, attrs, shape, dtype, suffix) -> int:
        data = self.ir.nodes[site.root]
        return add_vertex(self.ir, op=op, inputs=inputs, attrs=attrs, shape=shape, dtype=dtype,
                          name=f"{data['name']}/{suffix}", origin=data["origin"], at=site.where)

    def _made(self, found, site, move=True) -> bool:
        """True if `found` (a vertex this pass made) can be used at `site`. One made for
        a sum that runs later is moved to run here (unless `move` is False: just
        asking), when its inputs are all computed by then (they are when they are
        terms of this sum)."""
        if found is None or found not in self.ir:
            return False
        here = site.where
        if position(self.ir, found) > here:
            if any(position(self.ir, i) > here for i in self.ir.nodes[found]["inputs"]):
                return False
            if move:
                self.ir.nodes[found]["order"] = here
        return True

    def concat(self, site, parts, axis, rule, suffix="concat", any_order=False) -> int:
        """concat(parts, axis): one made already, a slice of one the graph has, or a new
        one. With `any_order` (a row sum does not care), a concatenation of the same
        parts in another order will do."""
        found = self._found(parts, axis, any_order)
        if self._made(found, site):
            return found
        if axis == 0:
            sliced = self._slice_of(site, parts, rule)
            if sliced is not None:
                return sliced
        shapes = [self.ir.nodes[p]["shape"] for p in parts]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        key = self.new(site, Concat(), parts, {"axis": axis}, tuple(shape),
                       self.ir.nodes[parts[0]]["dtype"], suffix)
        self.report.add("added", key, self.ir.nodes[key]["name"], rule)
        self.concats[(tuple(parts), axis)] = key
        self.concat_sets.setdefault((frozenset(parts), axis), key)
        if axis == 0:
            self._index(key)
            self.made.add(key)
        return key

    def _found(self, parts, axis, any_order):
        """A concatenation this pass made of `parts` (in any order, with `any_order`), or None."""
        found = self.concats.get((tuple(parts), axis))
        if any_order and found is None:
            found = self.concat_sets.get((frozenset(parts), axis))
        return found if found is not None and found in self.ir else None

    def has_concat(self, parts, axis, any_order=False) -> bool:
        return self._found(parts, axis, any_order) is not None

    def run_in(self, site, parts, move=False):
        """(concat or stack, index) that has `parts` as consecutive parts, in this order,
        and can be read at `site`; or None."""
        ir = self.ir
        for source, first in self.part_of.get(parts[0], ()):
            if source not in ir:
                continue
            inputs = ir.nodes[source]["inputs"]
            if inputs[first:first + len(parts)] != list(parts):
                continue
            if position(ir, source) > site.where and not self._made(source, site, move):
                continue  # made for a sum that runs later, and cannot run earlier
            return source, first
        return None

    def made_run(self, parts, i) -> tuple:
        """(n, concatenation): the longest run parts[i:i + n] that is, in order, consecutive
        parts of one concatenation this pass made; (0, None) if parts[i] is in none."""
        longest, found = 0, None
        for source, first in self.part_of.get(parts[i], ()):
            if source not in self.made or source not in self.ir:
                continue
            inputs = self.ir.nodes[source]["inputs"]
            n = 0
            while i + n < len(parts) and first + n < len(inputs) and inputs[first + n] == parts[i + n]:
                n += 1
            if n > longest:
                longest, found = n, source
        return longest, found

    def chunks(self, parts) -> list:
        """Cut `parts` (joined along axis 0) into the runs to merge one by one, as
        (start, stop, the concatenation made already that the run is part of, or None):
        a run of parts another sum's merge already joined stays that run, so its
        concatenation is shared; the others are cut by costs.row_chunks (a long run
        into chunks of some 512 rows: see the module's docstring)."""
        runs, loose, i = [], 0, 0  # parts[loose:i] are in no concatenation made yet

        def cut(start, stop):
            rows = [self.ir.nodes[p]["shape"][0] for p in parts[start:stop]]
            runs.extend((start + a, start + b, None) for a, b in row_chunks(rows))

        while i < len(parts):
            n, source = self.made_run(parts, i)
            if n:
                cut(loose, i)
                runs.append((i, i + n, source))
                i = loose = i + n
            else:
                i += 1
        cut(loose, len(parts))
        return runs

    def in_made_order(self, parts) -> list:
        """`parts` (of a sum, whose order does not matter) with those in a concatenation
        this pass made first, in its order, so that they come out as runs of it."""
        def where(part):
            for source, i in self.part_of.get(part, ()):
                if source in self.made and source in self.ir:
                    return (0, position(self.ir, source), i)
            return (1,)
        return sorted(parts, key=where)  # stable: the others keep their order

    def _slice_of(self, site, parts, rule):
        """parts joined along axis 0, as a view of a concat or stack that has them as
        consecutive parts, in this order; None if there is none."""
        ir = self.ir
        found = self.run_in(site, parts, move=True)
        if found is None:
            return None
        source, first = found
        inputs, data = ir.nodes[source]["inputs"], ir.nodes[source]
        key = source
        if len(parts) < len(inputs):  # some of it: a slice of the rows
            if op_name(ir, source) == "stack":  # the parts are the stack's rows
                start, stop = first, first + len(parts)
            else:  # a concat: the parts' rows, counted from the concat's first row
                start = sum(ir.nodes[p]["shape"][0] for p in inputs[:first])
                stop = start + sum(ir.nodes[p]["shape"][0] for p in parts)
            shape = (stop - start,) + tuple(data["shape"][1:])
            key = self.new(site, GetItem(), [source], {"index": (("slice", start, stop, None),)},
                           shape, data["dtype"], "slice")
            self.report.add("added", key, ir.nodes[key]["name"], rule)
        rows = list(ir.nodes[parts[0]]["shape"])
        rows[0] = sum(ir.nodes[p]["shape"][0] for p in parts)
        if tuple(rows) != ir.nodes[key]["shape"]:  # a stack's (k, rows, n) -> (k * rows, n)
            key = self.new(site, Reshape(), [key], {"shape": tuple(rows)}, tuple(rows),
                           data["dtype"], "slice_rows")
            self.report.add("added", key, ir.nodes[key]["name"], rule)
        return key

    def transpose(self, site, x, rule) -> int:
        data = self.ir.nodes[x]
        key = self.new(site, Transpose(), [x], {"axes": None}, data["shape"][::-1],
                       data["dtype"], "transpose")
        self.report.add("added", key, self.ir.nodes[key]["name"], rule)
        return key

    def site(self, root, parts, shared=None, whole=False) -> Site:
        """Where a chunk of `parts` is merged: as soon as the last of them is made (so
        the chunk's concatenation can be let go before the next chunk is made), and
        not before `shared`, the concatenation made already that it will slice. A
        chunk that is the `whole` sum goes where the sum stood, as before chunks."""
        ir = self.ir
        if whole:
            return Site.of(ir, root)
        # a transposed part is read through its x (see side): the transpose itself,
        # which autodiff made late, is not waited for
        inner = [untransposed(ir, p) or p for p in parts]
        if shared is not None:
            inner.append(shared)
        return Site.after(ir, root, max(inner, key=lambda p: position(ir, p)))


def untransposed(ir, key):
    """x when `key` is x.T of a 2-D x, else None."""
    if op_name(ir, key) != "transpose" or ir.nodes[key]["attrs"]["axes"] not in (None, (1, 0)):
        return None
    (x,) = ir.nodes[key]["inputs"]
    return x


def side(ir, build, site, operands, axis, rule, suffix) -> int:
    """concat(operands, axis), made cheap when they are transposes.

    Concatenating transposed views x.T column-wise is a strided copy; the same
    values come out of concatenating the x row-wise (one block copy each) and
    transposing the result, which is a free view. So when most operands are
    transposes, that is what is built.
    """
    inner = [untransposed(ir, k) for k in operands]
    if sum(x is not None for x in inner) * 2 < len(operands):
        return build.concat(site, operands, axis, rule, suffix)
    rows = [x if x is not None else build.transpose(site, k, rule) for x, k in zip(inner, operands)]
    return build.transpose(site, build.concat(site, rows, 1 - axis, rule, suffix), rule)


def elements_copied(ir, build, site, parts, axis, any_order=False) -> int:
    """The elements concatenating `parts` along `axis` copies, built as side builds it.

    Nothing when the result is a concatenation already made (with `any_order`, as a
    row sum's is: of the same parts in any order), or a view of one the graph has (a
    run of a stack's parts), or, along axis 0, when every part is computed by a kernel
    that can write it straight into its place (the memory plan's concat "parts
    written in place"). Otherwise every element of every part.
    """
    inner = [untransposed(ir, k) for k in parts]
    if sum(x is not None for x in inner) * 2 >= len(parts):  # joined as rows, then transposed
        if None in inner:  # side makes new transposes of the others: those are copied
            return sum(size(ir, p) for p in parts)
        parts, axis = inner, 1 - axis
    if build.has_concat(parts, axis, any_order):
        return 0
    if axis == 0 and (
        build.run_in(site, parts) is not None
        or all(ir.nodes[p]["kind"] == "op" and ir.nodes[p]["op"].writes_out for p in parts)
    ):
        return 0
    return sum(size(ir, p) for p in parts)
