"""fuse: chains of elementwise ops run as one kernel writing into its own buffer; values
read elsewhere or fetched stay their own; the results equal the unfused run's."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import symgraph as sg
from _ir import snapshot
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import fuse

fuse_module = importlib.import_module("symgraph.compiler.passes.fuse")  # the name is the function



def fused_vertices(ir):
    return [d for _, d in ir.nodes(data=True) if d["op"].name == "fused"]


def same_as_unfused(fetches, feed):
    """Run with every pass and with none; the values must agree."""
    with sg.Session() as a, sg.Session(disable="all") as b:
        for _ in range(2):  # twice: the second run reuses the buffers the first made
            got, want = a.run(fetches, feed), b.run(fetches, feed)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)
                assert np.shape(g) == np.shape(w) and g.dtype == w.dtype


def test_a_chain_becomes_one_fused_vertex():
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    y = sg.tanh(sg.exp(x) * 2.0 + 1.0, name="y")
    ir = lower([y], [x])
    before = snapshot(ir)
    new, report = fuse(ir)
    formula = "tanh(add(mul(exp(x), 2.0), 1.0))"
    assert [(c.kind, c.name, c.into) for c in report.changes] == [
        ("added", "y", None),
        ("merged", "exp", "y"),
        ("merged", "mul", "y"),
        ("merged", "add", "y"),
        ("merged", "y", "y"),
    ]
    assert {c.rule for c in report.changes} == {f"fused: {formula}"}
    (f,) = fused_vertices(new)
    assert f["name"] == "y" and f["shape"] == (3, 4)
    assert [new.nodes[i]["name"] for i in f["inputs"]] == ["x", "Const", "Const_1"]
    assert new.graph["fetches"] == [report.changes[0].key]
    assert len(new) == 4  # x, the two constants, the fused vertex
    assert snapshot(ir) == before
    assert "= tanh(add(mul(exp(%0), 2.0), 1.0))" in str(sg.compile(y, {x: np.zeros((3, 4))}))
    same_as_unfused([y], {x: np.linspace(-1, 1, 12).reshape(3, 4)})


def test_a_value_with_two_consumers_is_not_fused_into_either():
    x = sg.Placeholder((5,), dtype="float64", name="x")
    e = sg.exp(x, name="e")
    y = sg.tanh(e * 2.0, name="y") + sg.sigmoid(e, name="s")
    new, _ = fuse(lower([y], [x]))
    assert e.id in new and new.nodes[e.id]["op"].name == "exp"
    (f,) = fused_vertices(new)
    assert e.id in f["inputs"]
    same_as_unfused([y], {x: np.linspace(-2, 2, 5)})


def test_a_fetched_value_is_not_fused_away():
    x = sg.Placeholder((5,), dtype="float64", name="x")
    e = sg.exp(-x, name="e")
    y = sg.tanh(e, name="y")
    new, report = fuse(lower([e, y], [x]))
    fetched_e, fetched_y = (new.nodes[k] for k in new.graph["fetches"])
    assert fetched_e["op"].name == "fused" and fetched_e["name"] == "e"  # neg and exp only
    assert {c.name for c in report.changes if c.kind == "merged"} == {"neg", "e"}
    assert fetched_y["op"].name == "tanh"  # alone: e, which it reads, is fetched
    same_as_unfused([e, y], {x: np.linspace(-2, 2, 5)})


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_values_are_not_fused(shape):
    # fusing saves no memory for one element, and NumPy's in-place path is slower there
    x = sg.Placeholder(shape, dtype="float64", name="x")
    y = sg.tanh(sg.exp(x) * 2.0 + 1.0)
    new, _ = fuse(lower([y], [x]))
    assert fused_vertices(new) == []
    value_in = np.full(shape, 0.25)
    with sg.Session() as sess:
        value = sess.run(y, {x: value_in})
    assert np.shape(value) == shape and np.all(value == np.tanh(np.exp(0.25) * 2 + 1))


def test_two_element_values_fuse():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    y = sg.tanh(sg.exp(x) * 2.0 + 1.0)
    new, _ = fuse(lower([y], [x]))
    assert len(fused_vertices(new)) == 1
    same_as_unfused([y], {x: np.array([0.25, -1.0])})


def test_inputs_from_outside_may_broadcast():
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    row = sg.Placeholder((4,), dtype="float64", name="row")
    col = sg.Placeholder((3, 1), dtype="float64", name="col")
    one = sg.Placeholder((1, 4), dtype="float64", name="one")
    y = sg.relu(sg.tanh(x * row + col) - one)
    new, _ = fuse(lower([y], [x, row, col, one]))
    (f,) = fused_vertices(new)
    assert sorted(new.nodes[i]["name"] for i in f["inputs"]) == ["col", "one", "row", "x"]
    rng = np.random.default_rng(1)
    same_as_unfused(
        [y],
        {
            x: rng.normal(size=(3, 4)),
            row: rng.normal(size=4),
            col: rng.normal(size=(3, 1)),
            one: rng.normal(size=(1, 4)),
        },
    )


def test_an_op_that_broadcasts_its_input_starts_a_new_group():
    """exp(x) is (3, 1) and its consumer (3, 4): exp's value does not fit the group's buffer."""
    x = sg.Placeholder((3, 1), dtype="float64", name="x")
    z = sg.Placeholder((3, 4), dtype="float64", name="z")
    small = sg.exp(-x, name="small")
    y = sg.tanh(small + z, name="y")
    new, _ = fuse(lower([y], [x, z]))
    groups = sorted(d["shape"] for d in fused_vertices(new))
    assert groups == [(3, 1), (3, 4)]
    same_as_unfused([y], {x: np.ones((3, 1)), z: np.eye(3, 4)})


def test_a_value_read_twice_by_one_op_and_trees_of_ops():
    """x * x reads one register twice; exp(x) * tanh(x) is a tree, not a chain."""
    x = sg.Placeholder((4,), dtype="float64", name="x")
    sq = sg.exp(x) * sg.exp(x)
    t = sg.tanh(x)
    y = (t * t + sg.sigmoid(x) * sg.exp(-x)) / (1.0 + sq)
    new, _ = fuse(lower([y], [x]))
    assert len(fused_vertices(new)) == 1
    same_as_unfused([y], {x: np.array([-1.5, -0.1, 0.3, 2.0])})


def test_long_chains_are_cut_into_groups_of_at_most_max_group():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = x
    for i in range(40):
        y = sg.tanh(y) if i % 2 else y * 0.9
    new, _ = fuse(lower([y], [x]))
    sizes = [len(d["attrs"]["steps"]) for d in fused_vertices(new)]
    assert sorted(sizes) == [8, 16, 16] and max(sizes) <= fuse_module.MAX_GROUP
    same_as_unfused([y], {x: np.array([-1.0, 0.5, 3.0])})


def test_the_fused_output_buffer_is_written_in_place_correctly():
    """The group's buffer holds intermediate values and then the result: a value the
    group still needs must never be overwritten before its last read."""
    x = sg.Placeholder((64,), dtype="float64", name="x")
    a = sg.exp(x * 0.1)
    b = sg.tanh(x)
    c = a * b - sg.sigmoid(a + b) * (a - b)  # a and b are both read again late
    y = c * c + a / (1.0 + b * b)
    # a and b have several consumers: they stay apart; the rest fuses
    same_as_unfused([y, a, b], {x: np.linspace(-3, 3, 64)})
    same_as_unfused([sg.sum(y)], {x: np.linspace(-3, 3, 64)})


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_dtypes_are_kept(dtype):
    x = sg.Placeholder((3,), dtype=dtype, name="x")
    y = sg.maximum((x + 1) * 2 - x, x)
    same_as_unfused([y], {x: np.array([1, -2, 3], dtype=dtype)})


def test_ops_that_cannot_write_out_are_not_fused():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.where(sg.greater(x, 0.0), sg.exp(x), x * 2.0)
    new, _ = fuse(lower([y], [x]))
    assert new.nodes[y.id]["op"].name == "where"
    same_as_unfused([y], {x: np.array([-1.0, 0.0, 2.0])})


def test_nothing_to_fuse_reports_no_change():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = sg.sum(sg.exp(x) @ sg.transpose(x))
    _, report = fuse(lower([y], [x]))
    assert not report.changed


def test_the_generated_code_drops_a_fused_instructions_temporaries():
    """Registers other than the output live only as long as the instruction, in the
    generated source as in Fused.forward, not to the end of the run."""
    x = sg.Placeholder((4,), dtype="float64", name="x")
    y = sg.exp(x) * sg.tanh(x) + sg.sigmoid(x) * sg.exp(-x)  # a tree: needs 3 registers
    program = sg.compile(y, {x: np.zeros(4)})
    (inst,) = program.instructions
    assert inst.attrs["registers"] == 3
    lines = program.source.splitlines()
    made = sorted(
        {
            line.split("=")[0].strip()
            for line in lines
            if line.strip().startswith("t") and "= k" in line
        }
    )
    assert len(made) == 2
    assert f"    {' = '.join(made)} = None" in lines
    same_as_unfused([y], {x: np.array([-1.0, 0.0, 0.5, 2.0])})


def test_ops_a_few_others_apart_still_fuse():
    """A cell's x @ W + b + h @ U runs h @ U between its two additions: still one kernel."""
    x = sg.Placeholder((4, 3), dtype="float64", name="x")
    h = sg.Placeholder((4, 5), dtype="float64", name="h")
    w, u = sg.Variable(np.ones((3, 5)), name="W"), sg.Variable(np.ones((5, 5)), name="U")
    b = sg.Variable(np.ones(5), name="b")
    y = sg.tanh(x @ w + b + h @ u, name="y")
    new, _ = fuse(lower([y], [x, h]))
    (f,) = fused_vertices(new)
    assert f["attrs"]["formula"].startswith("tanh(add(add(")


def test_ops_that_run_far_apart_are_not_fused():
    """A running sum with much work between its additions (an RNN weight's gradient):
    fused, every term would wait for the last addition; apart, each is added and freed."""
    xs = [sg.Placeholder((6, 6), dtype="float64", name=f"x{i}") for i in range(4)]
    total = xs[0] @ xs[0]
    for x in xs[1:]:
        work = sg.tanh(x @ x) @ x  # three ops between one addition and the next
        total = total + work
    new, _ = fuse(lower([total], xs))
    adds = [d for _, d in new.nodes(data=True) if d["op"].name == "add"]
    assert len(adds) == 3 and not any("add(" in d.get("attrs", {}).get("formula", "")
                                      for d in fused_vertices(new))
    same_as_unfused([total], {x: np.linspace(-1, 1, 36).reshape(6, 6) + i for i, x in enumerate(xs)})


class _HalfThenTimes(sg.Op):
    """x * (x / 2), written the way a kernel with out= might be: out first, then x read
    again. Given x's own memory as out, it would read its half-written result."""

    name = "test_half_then_times"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    elementwise = True
    writes_out = True  # and, by default, writes_over = (): never hand it x's memory

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x, out=None):
        out = np.empty_like(x) if out is None else out
        np.multiply(x, 0.5, out=out)
        np.multiply(out, x, out=out)  # reads x after writing out
        return out

    def backward(self, node, grad):
        (x,) = node.inputs
        return (grad * x,)


def test_a_custom_kernel_is_given_an_inputs_register_only_if_it_says_it_may_be():
    """A fused chain reused the register of a value read for the last time as the next
    step's output, whatever the op: a custom kernel then got x as out (found by a bug hunt)."""
    from symgraph.graph import make_node

    a = sg.Placeholder((4, 3), dtype="float64", name="a")
    b = sg.Placeholder((4, 3), dtype="float64", name="b")
    z = make_node(_HalfThenTimes(), (a * b,)) * 2.0
    program = sg.compile(z, feeds={a: np.ones((4, 3)), b: np.ones((4, 3))})
    assert [inst.op.name for inst in program.instructions] == ["fused"]  # it did fuse
    feeds = {a: np.linspace(-2, 2, 12).reshape(4, 3), b: np.full((4, 3), 1.5)}
    x = feeds[a] * feeds[b]
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            for _ in range(3):  # the 2nd and 3rd run the generated code
                np.testing.assert_allclose(sess.run(z, feeds), x * x)


class _Identity(sg.Op):
    """Returns its input itself when given no out=, as it may: it makes no fresh_output
    promise. (An op such as a gradient reversal is an identity going forward.)"""

    name = "test_identity"
    registered = False
    elementwise = True
    writes_out = True

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x, out=None):
        if out is None:
            return x
        np.copyto(out, x)
        return out

    def backward(self, node, grad):
        return (grad,)


def test_a_step_that_returns_its_input_does_not_let_later_steps_write_over_it():
    """A fused step kept whatever its kernel returned as a register and later steps wrote
    into it: an identity's result is the user's fed array, which became all 2s
    (found by a bug hunt)."""
    from symgraph.graph import make_node

    def identity(v):
        return make_node(_Identity(), (v,))

    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = identity(identity(x) * 2.0)
    assert [i.op.name for i in sg.compile(y, {x: np.ones((2, 3))}).instructions] == ["fused"]
    data = np.ones((2, 3))
    with sg.Session() as sess:
        for _ in range(3):  # the 2nd and 3rd run the generated code
            np.testing.assert_array_equal(sess.run(y, {x: data}), 2.0)
            np.testing.assert_array_equal(data, 1.0)


class _Positive(sg.Op):
    """x[x > 0]: a length known only when it runs, so nothing is planned after it."""

    name = "test_positive"
    registered = False
    fresh_output = True

    def infer(self, x):
        return (None,), x.dtype

    def forward(self, x):
        return x[x > 0]


def test_a_step_that_returns_a_fetched_value_leaves_it_as_it_was():
    """The same in Fused.forward, given no planned buffer: the identity's input is also
    fetched, and came back doubled."""
    from symgraph.graph import make_node

    x = sg.Placeholder((4,), dtype="float64", name="x")
    m = make_node(_Positive(), (x,))
    y = make_node(_Identity(), (m,)) * 2.0
    data = np.array([1.0, -1.0, 2.0, 3.0])
    with sg.Session() as sess:
        for _ in range(3):
            got_m, got_y = sess.run([m, y], {x: data})
            np.testing.assert_array_equal(got_m, [1.0, 2.0, 3.0])
            np.testing.assert_array_equal(got_y, [2.0, 4.0, 6.0])


def test_a_fused_kernel_that_fails_names_its_formula_the_users_line_and_how_to_see_the_step():
    """Found by a bug hunt: 'fused failed while running', with no Node and no line."""
    n = sg.Placeholder((None,), dtype="int64", name="n")
    p = sg.Placeholder((None,), dtype="int64", name="p")
    y = (n**p) * 3 + 1
    line = inspect.currentframe().f_lineno - 1
    with sg.Session() as sess, pytest.raises(sg.RunError) as caught:
        sess.run(y, {n: np.array([2, 3]), p: np.array([1, -1])})
    message = str(caught.value)
    assert message.startswith("fused add(mul(pow(%0, %1), 3), 1) failed while running: ValueError")
    assert caught.value.node is y and f"test_passes_fuse.py:{line}" in message
    assert "sg.Session(disable='fuse')" in caught.value.hint
