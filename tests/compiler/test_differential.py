"""Differential test of the compiler: on random graphs, the optimized Program and the
plain one (`disable="all"`) give the same values and the same gradients.

hypothesis draws a *recipe* (plain data: input shapes, then 3 to 12 steps, each an op
name and a few numbers); `build` turns it into a graph, choosing operands that fit,
and the loss sum_i c_i * sum(output_i) over the outputs nothing else reads. Both
Programs run twice, on two different feeds, so the second run reuses the buffers the
first one made. Each pass also runs alone, to say which pass a failure comes from.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import symgraph as sg
from symgraph.compiler.passes import PASSES
from symgraph.graph import make_node

PASS_NAMES = [name for name, _ in PASSES]

UNARY = ["neg", "tanh", "sigmoid", "relu", "softplus", "exp"]
BINARY = ["add", "sub", "mul", "div", "maximum", "where"]
REDUCE = ["sum", "mean", "max"]
SHAPE = ["matmul", "transpose", "reshape", "slice", "concat", "expand_dims"]
NN = ["softmax", "log_softmax", "log(softmax)"]
OTHER = ["identity", "repeat", "constant_row"]
MENU = UNARY + BINARY + REDUCE + SHAPE + NN + OTHER

#: the shapes an input may have, in terms of the batch dim m and the feature dim n
INPUT_SHAPES = ["mn", "1n", "n", "m1", ""]


@st.composite
def recipes(draw):
    none_batch = draw(st.booleans())
    # A None dim is assumed never to be 1 (it is never broadcast); fed 1, NumPy would
    # broadcast it in the forward pass and the gradients' shapes would not follow.
    m = draw(st.integers(2 if none_batch else 1, 4))
    n = draw(st.integers(1, 4))
    kinds = ["mn"] + draw(st.lists(st.sampled_from(INPUT_SHAPES), min_size=0, max_size=2))
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(MENU), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)
            ),
            min_size=3,
            max_size=12,
        )
    )
    seed = draw(st.integers(0, 2**16))
    return {"m": m, "n": n, "none_batch": none_batch, "inputs": kinds, "steps": steps, "seed": seed}


def _dims(kind, m, n):
    return tuple({"m": m, "n": n, "1": 1}[c] for c in kind)


def build(recipe):
    """The recipe's graph, in the default graph. With a None batch dim, operands are chosen
    on a first build with the real batch size (a None dim fits anything statically, but
    (4,) and (16,) do not broadcast when fed), and the second build makes the same choices."""
    choices = None
    if recipe["none_batch"]:
        with sg.Graph().as_default():
            choices = Built(recipe, recipe["m"]).choices
    return Built(recipe, None if recipe["none_batch"] else recipe["m"], choices)


class Built:
    """The graph a recipe makes: inputs, every value made, and a bound on each value's size."""

    def __init__(self, recipe, batch, replay=None):
        self.recipe = recipe
        self.rng = np.random.default_rng(recipe["seed"])
        self.choices = []  # the pool index each binary op chose as its partner (None: itself)
        self.replay = None if replay is None else list(replay)
        self.inputs = [
            sg.Placeholder(_dims(kind, batch, recipe["n"]), dtype="float64", name=f"in{i}")
            for i, kind in enumerate(recipe["inputs"])
        ]
        self.pool = list(self.inputs)
        self.bound = {x: 2.0 for x in self.inputs}  # inputs are drawn from [-2, 2]
        self.made = []
        for op, i, j, k in recipe["steps"]:
            node = self.step(op, i, j, k)
            self.pool.append(node)
            self.made.append(node)

    # -- choosing operands ------------------------------------------------------------------
    def pick(self, i):
        return self.pool[i % len(self.pool)]

    def choose(self, decide):
        """decide() on the build with real shapes; the same answer on the replay."""
        if self.replay is not None:
            return self.replay.pop(0)
        self.choices.append(decide())
        return self.choices[-1]

    def partner(self, a, j, fits):
        """An operand for a binary op: the j-th (cyclically) that fits, else a itself."""

        def decide():
            candidates = [index for index, b in enumerate(self.pool) if fits(b)]
            return candidates[j % len(candidates)] if candidates else None

        index = self.choose(decide)
        return a if index is None else self.pool[index]

    def broadcasts_with(self, a):
        def fits(b):
            try:
                sg.ops.base.broadcast_shapes(a, b)
            except sg.ShapeError:
                return False
            return True

        return fits

    def tame(self, a, limit=5.0):
        """tanh(a) when a could be big: exp and friends stay finite."""
        if self.bound[a] <= limit:
            return a
        return self.note(sg.tanh(a), 1.0)

    def note(self, node, bound):
        self.bound[node] = bound
        return node

    # -- one step ------------------------------------------------------------------------------
    def step(self, op, i, j, k):
        a = self.pick(i)
        ba = self.bound[a]
        if op in ("neg", "relu"):
            return self.note(getattr(sg, op)(a), ba)
        if op in ("tanh", "sigmoid"):
            return self.note(getattr(sg, op)(a), 1.0)
        if op == "softplus":
            return self.note(sg.softplus(a), ba + 1.0)
        if op == "exp":
            a = self.tame(a)
            return self.note(sg.exp(a), float(np.exp(self.bound[a])))
        if op in BINARY:
            b = self.partner(a, j, self.broadcasts_with(a))
            bb = self.bound[b]
            if op == "div":  # a safe denominator: 1 + b * b >= 1
                return self.note(a / (1.0 + b * b), ba)
            if op == "where":
                return self.note(sg.where(sg.greater(a, 0.0), a, b), max(ba, bb))
            node = getattr(sg, op)(a, b)
            return self.note(node, ba * bb if op == "mul" else ba + bb)
        if op in REDUCE:
            if a.ndim == 0:
                axis = None
            else:
                axes = [ax for ax in range(a.ndim) if (j >> ax) & 1]
                axis = None if not axes or k % 3 == 0 else tuple(axes)
            node = getattr(sg, op)(a, axis=axis, keepdims=bool(k & 1))
            count = 16.0 if op == "sum" else 1.0
            return self.note(node, ba * count)
        if op == "matmul":
            if a.ndim == 1:
                a = self.note(sg.reshape(a, (1, -1)), ba)
            elif a.ndim != 2:
                return self.note(sg.tanh(a), 1.0)
            b = self.partner(a, j, lambda b: b.ndim in (1, 2) and b.shape[0] == a.shape[-1])
            if b is a:
                b = self.note(sg.transpose(a), ba)
            return self.note(a @ b, ba * self.bound[b] * 4)
        if op == "transpose":
            return self.note(sg.transpose(a) if a.ndim == 2 else -a, ba)
        if op == "reshape":
            if a.ndim == 0:
                return self.note(sg.reshape(a, (1, 1)), ba)
            target = [(-1,), (-1, 1), (1, -1)][k % 3]
            return self.note(sg.reshape(a, target), ba)
        if op == "slice":  # a view: the memory plan must keep its buffer alive
            stop = self.choose(lambda: max(1, a.shape[-1] // 2) if a.ndim else None)
            return self.note(-a if stop is None else a[..., :stop], ba)
        if op == "concat":
            if a.ndim == 0:
                return self.note(sg.stack([a, a]), ba)

            if self.recipe["none_batch"]:  # concat's gradient needs every size along its axis
                b = self.partner(a, j, lambda b: b.shape == a.shape)
                return self.note(sg.stack([a, b]), max(ba, self.bound[b]))
            b = self.partner(a, j, lambda b: b.ndim == a.ndim and b.shape[:-1] == a.shape[:-1])
            return self.note(sg.concat([a, b], axis=-1), max(ba, self.bound[b]))
        if op == "expand_dims":
            return self.note(sg.expand_dims(a, k % (a.ndim + 1)), ba)
        if op in NN:
            if a.ndim == 0:
                return self.note(sg.sigmoid(a), 1.0)
            if op == "softmax":
                return self.note(sg.softmax(a), 1.0)
            if op == "log_softmax":
                return self.note(sg.log_softmax(a), 2 * ba + 2)
            a = self.tame(a, 20.0)  # log(softmax) underflows to -inf beyond that, unstabilized
            return self.note(sg.log(sg.softmax(a)), 2 * self.bound[a] + 2)
        if op == "identity":  # what simplify removes
            forms = [
                lambda x: x * 1.0,
                lambda x: x + 0.0,
                lambda x: sg.neg(sg.neg(x)),
                lambda x: x / 1.0,
            ]
            if a.ndim == 2:
                forms.append(lambda x: x.T.T)
            return self.note(forms[j % len(forms)](a), ba)
        if op == "repeat":  # the same op again on the same operands: what cse merges
            previous = [n for n in self.made if not n.is_leaf and n.op.name != "constant"]
            if not previous:
                return self.note(sg.tanh(a), 1.0)
            p = previous[j % len(previous)]
            return self.note(_rebuild(p), self.bound[p])
        if op == "constant_row":  # constants that fold, broadcast against a row
            n = self.recipe["n"]
            row = sg.Constant(self.rng.uniform(-1, 1, size=n)) * 2.0 + 1.0
            b = row if self.choose(lambda: self.broadcasts_with(a)(row)) else sg.Constant(0.5) * 3.0
            return self.note(a * b, ba * 3.0)
        raise AssertionError(f"unknown op {op}")

    # -- what is fetched ---------------------------------------------------------------------
    def outputs(self):
        """The values nothing else reads (at least the last one)."""
        read = {i for node in self.made for i in node.inputs}
        return [node for node in self.made if node not in read and not node.is_leaf] or [
            self.made[-1]
        ]

    def loss(self):
        total = None
        for out in self.outputs():
            c = float(self.rng.uniform(0.5, 1.5))
            term = sg.sum(out) * c
            total = term if total is None else total + term
        return total

    def feed(self, seed):
        rng = np.random.default_rng(seed)
        m, n = self.recipe["m"], self.recipe["n"]
        return {
            x: rng.uniform(-2, 2, size=_dims(kind, m, n))
            for x, kind in zip(self.inputs, self.recipe["inputs"])
        }


def _rebuild(node):
    """A new Node with node's op, inputs and attrs: the duplicate cse should merge."""
    return make_node(type(node.op)(), node.inputs, dict(node.attrs))


def _fetches(built):
    loss = built.loss()
    grads = sg.gradients(loss, built.inputs, unconnected="zero")
    return [*built.outputs(), loss, *grads]


def _compare(recipe, disable):
    built = build(recipe)
    fetches = _fetches(built)
    feeds = [built.feed(recipe["seed"] + 1), built.feed(recipe["seed"] + 2)]
    with sg.Session(disable=disable) as optimized, sg.Session(disable="all") as plain:
        first = optimized.run(fetches, feeds[0])
        second = optimized.run(fetches, feeds[1])
        expected = [plain.run(fetches, f) for f in feeds]
        (program,) = optimized._programs.values()  # one Program for the one set of shapes
    # a None batch dim was specialized to the fed size everywhere
    assert all(None not in inst.shape for inst in program.instructions)
    # the first answers are unchanged by the second run (which reused the buffers)
    for got, want in zip([first, second], expected):
        for node, g, w in zip(fetches, got, want):
            assert np.shape(g) == np.shape(w), node.name
            assert np.asarray(g).dtype == np.asarray(w).dtype, node.name
            np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9, err_msg=node.name)


@given(recipes())
def test_optimized_and_plain_programs_agree_on_values_and_gradients(recipe):
    _compare(recipe, ())


@pytest.mark.parametrize("only", PASS_NAMES)
@given(recipe=recipes())
def test_each_pass_alone_keeps_values_and_gradients(only, recipe):
    _compare(recipe, [name for name in PASS_NAMES if name != only])


def test_the_menu_reaches_every_pass():
    """A fixed recipe that uses most of the menu: every pass finds something to do."""
    recipe = {
        "m": 3,
        "n": 4,
        "none_batch": True,
        "inputs": ["mn", "1n", "n"],
        "seed": 7,
        "steps": [
            ("log(softmax)", 0, 0, 0),
            ("identity", 3, 0, 0),
            ("constant_row", 4, 0, 0),
            ("tanh", 5, 0, 0),
            ("repeat", 0, 2, 0),
            ("mul", 6, 1, 0),
            ("matmul", 8, 0, 0),
            ("sum", 9, 1, 0),
        ],
    }
    built = build(recipe)
    fetches = _fetches(built)
    explanation = sg.explain(fetches, built.feed(0))
    changed = {step.name for step in explanation if step.report.changed}
    assert {"stabilize", "simplify", "fold", "cse", "fuse"} <= changed
    _compare(recipe, ())
