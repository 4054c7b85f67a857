"""fuse: run a chain of elementwise ops as one instruction, in place, with few temporaries.

The gradient of tanh is `grad * (1 - y * y)`: three ops, and run one by one
NumPy makes three arrays. Fused, the three run as one instruction that
writes `y * y` into its output buffer, then `1 - that` into the same buffer,
then `grad * that` into it again: one buffer instead of three. This is safe
because an elementwise op reads element i before it writes element i.

What is fused: vertices whose op is elementwise and can write into a given
array (`elementwise` and `writes_out`), whose only consumer is in the same
group, with the same shape and dtype as that consumer (so every value inside
the group fits the group's buffer; inputs from outside may still broadcast).
Fetched values are never fused away. Each group becomes one `fused` vertex
named after its last op; the report lists it as added, and each op it swallowed as merged.

A group runs where its last op ran, so its ops must run close together in the
schedule (`_next_to`): fusing ops that ran far apart would move the earlier
ones to the end and keep their inputs alive in the meantime. (An RNN weight's
gradient is a running sum with one addition per step, each right after its
step's term: fused, all the terms would wait for the end.)
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from symgraph.compiler.in_place import op_may_write_over
from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import (
    add_vertex,
    constant_value,
    is_weak,
    remove_dead,
    replace_all,
    start,
    topological,
)
from symgraph.ops.base import Op, check_wrote_into_out


class Fused(Op):
    """Several elementwise steps run as one kernel over a few registers (NumPy arrays).

    attrs: `steps`, a tuple of (op, args, attrs, register) where each arg is
    ("in", i) for the i-th input or ("reg", r) for register r; register 0 is
    the output. `formula` is the same thing written for people.
    """

    name = "fused"
    registered = False  # made only by this pass, never by users
    elementwise = True
    writes_out = True
    fresh_output = True

    def infer(self, *inputs, steps, formula, registers):
        raise NotImplementedError("fused vertices are made by the compiler, with their shape")

    def forward(self, *inputs, steps, formula, registers, out=None):
        regs = [out] + [None] * (registers - 1)
        for op, args, attrs, target in steps:
            values = [inputs[i] if kind == "in" else regs[i] for kind, i in args]
            if regs[target] is None:  # first use: the kernel allocates the register
                result = op.forward(*values, **dict(attrs))
                if not op.fresh_output:
                    # later steps write into a register: one that is an input (an op may
                    # return its input, as an identity does) would write over the user's
                    # feed or another fetched value, so keep a copy instead
                    result = np.array(result)
                # a 0-d result comes back as a NumPy scalar, which cannot be written into
                regs[target] = result if type(result) is np.ndarray else np.asarray(result)
            else:
                result = op.forward(*values, **dict(attrs), out=regs[target])
                if result is not regs[target]:  # one `is` when all is well
                    where = " (fused; sg.Session(debug=True) runs it alone and names its Node)"
                    check_wrote_into_out(op, result, regs[target], where=where)
        return regs[0]

    def flops(self, node) -> int:
        return sum(1 for _ in node.attrs["steps"])


def _fusable(ir, key) -> bool:
    data = ir.nodes[key]
    op = data["op"]
    return (
        data["kind"] == "op"
        and op.elementwise
        and op.writes_out
        and not op.stateful
        and type(op) is not Fused
    )


#: the most ops one fused instruction runs: long chains are cut into pieces this long,
#: so a fused kernel stays readable in a listing (and its formula stays short)
MAX_GROUP = 16


def _one_element(shape) -> bool:
    """A value of exactly one element is left unfused: fusing saves no memory there,
    and NumPy's ufuncs take a slow path when a one-element output is also an input
    (measured: np.add(o, b, out=o) 1.3 us, np.add(a, b) 0.3 us)."""
    return None not in shape and math.prod(shape) == 1  # math: np.prod of a tuple is 10x slower


#: how many other ops may run between two ops that are fused (see _next_to)
MAX_BETWEEN = 2


def _next_to(ir, order, index, key, consumer, root_of) -> bool:
    """True if the schedule runs at most MAX_BETWEEN ops between `key` and its consumer
    that are neither in the consumer's group nor free (a leaf, or a view such as a
    transpose). A cell's `x @ W + b + h @ U` runs `h @ U` between its two additions,
    and they still fuse; an RNN weight's running sum runs a whole step between two."""
    group, others = root_of[consumer], 0
    for i in range(index[key] + 1, index[consumer]):  # a range, not a slice: no copy
        data = ir.nodes[order[i]]
        if data["kind"] == "op" and root_of.get(order[i]) != group and not data["op"].returns_view:
            others += 1
            if others > MAX_BETWEEN:
                return False  # stops here: no long scans
    return True


def _groups(ir, order):
    """Map each vertex to the root (last op) of its fusion group, walking consumers first."""
    fetched = set(ir.graph["fetches"])
    index = {key: i for i, key in enumerate(order)}
    root_of = {}
    size = {}  # root -> ops in its group so far
    for key in reversed(order):
        if not _fusable(ir, key):
            continue
        root_of[key] = key
        size[key] = 1
        consumers = list(ir.successors(key))
        if key in fetched or len(consumers) != 1 or _one_element(ir.nodes[key]["shape"]):
            continue
        (c,) = consumers
        data, cdata = ir.nodes[key], ir.nodes[c]
        if (
            c in root_of
            and data["shape"] == cdata["shape"]
            and data["dtype"] == cdata["dtype"]
            and size[root_of[c]] < MAX_GROUP
            and _next_to(ir, order, index, key, c, root_of)
        ):
            root_of[key] = root_of[c]
            size[root_of[c]] += 1
            del size[key]
    return root_of


def _build(ir, members):
    """The steps of one group (members in topological order; the last is the root)."""
    member_set = set(members)
    inputs, input_index = [], {}
    uses_left = {}  # register -> how many steps still read it
    register_of = {}
    free, registers = [], 0
    steps, text = [], {}
    for key in members:
        data = ir.nodes[key]
        args, words = [], []
        for i in data["inputs"]:
            if i in member_set:
                args.append(("reg", register_of[i]))
                words.append(text[i])
            else:
                if i not in input_index:
                    input_index[i] = len(inputs)
                    inputs.append(i)
                args.append(("in", input_index[i]))
                value = constant_value(ir, i) if is_weak(ir, i) else None
                # "{0}" marks input 0: the listing fills in the slot it comes from
                words.append(repr(value) if value is not None else f"{{{input_index[i]}}}")
        # Registers whose value this step reads for the last time may take its result,
        # if its kernel may write over that input: a ufunc may; another op must say so
        # (writes_over), or a kernel that writes `out` before it has read all of x
        # would read its own half-written result.
        for r in {r for kind, r in args if kind == "reg"}:  # x * x reads r once
            uses_left[r] -= 1
        dying = [r for kind, r in args if kind == "reg" and uses_left[r] == 0]
        for r in dying:
            if r not in free:
                free.append(r)
        attrs = data["attrs"]
        unsafe = {
            r for j, (kind, r) in enumerate(args)
            if kind == "reg" and not op_may_write_over(data["op"], attrs, j)
        }
        usable = [r for r in free if r not in unsafe]
        if usable:
            target = usable[0]
            free.remove(target)
        else:
            target = registers
            registers += 1
        register_of[key] = target
        uses_left[target] = sum(1 for c in ir.successors(key) if c in member_set)
        steps.append((data["op"], tuple(args), tuple(sorted(data["attrs"].items())), target))
        text[key] = f"{data['op'].name}({', '.join(words)})"
    # The root's register must be register 0, the output: swap the two names throughout.
    root = register_of[members[-1]]
    if root != 0:
        swap = {0: root, root: 0}
        steps = [
            (op, tuple((k, swap.get(r, r) if k == "reg" else r) for k, r in args), attrs,
             swap.get(t, t))
            for op, args, attrs, t in steps
        ]
    return inputs, tuple(steps), text[members[-1]], registers


def fuse(ir: nx.DiGraph):
    report = Report("fuse")
    ir = start(ir)
    order = list(topological(ir))
    root_of = _groups(ir, order)
    members: dict[int, list[int]] = {}
    for key in order:  # topological order within each group
        if key in root_of:
            members.setdefault(root_of[key], []).append(key)
    new_of = {}  # root -> its fused vertex: the uses are redirected all at once, at the end
    for root, group in members.items():
        if len(group) < 2:
            continue
        inputs, steps, formula, registers = _build(ir, group)
        data = ir.nodes[root]
        new = add_vertex(
            ir, op=Fused(), inputs=inputs,
            attrs={"steps": steps, "formula": formula, "registers": registers},
            shape=data["shape"], dtype=data["dtype"], name=data["name"], origin=data["origin"],
            order=root,
            # it computes the root's value: an error while it runs names the root's Node
            # and the user's line that made it
            node=data["node"],
        )
        readable = formula.format(*(ir.nodes[i]["name"] for i in inputs))
        # the fused vertex is new (a fresh key): say so, so a viewer can mark it
        report.add("added", new, ir.nodes[new]["name"], f"fused: {readable}")
        for key in group:
            report.add("merged", key, ir.nodes[key]["name"], f"fused: {readable}",
                       into=ir.nodes[new]["name"])
        new_of[root] = new
    replace_all(ir, new_of)
    remove_dead(ir, report, "fused")
    return ir, report
