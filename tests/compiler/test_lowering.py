"""Lowering a Graph to the IR: only what the fetches need, cut at fed Nodes, cycles refused."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.compiler.ir import lower


def test_only_the_nodes_the_fetches_need_are_lowered():
    x = sg.Placeholder((2,), name="x")
    y = sg.Placeholder((2,), name="y")
    a = sg.tanh(x, name="a")
    b = sg.exp(y, name="b")  # not needed for a
    sg.sum(a + b, name="unused")
    ir = lower([a])
    assert sorted(ir.nodes) == sorted([x.id, a.id])
    assert ir.graph["fetches"] == [a.id]
    assert ir.nodes[a.id]["inputs"] == [x.id] and ir.has_edge(x.id, a.id)
    assert not ir.has_node(b.id)


def test_vertices_carry_what_the_passes_need():
    x = sg.Placeholder((None, 3), name="x")
    W = sg.Variable(np.ones((3, 2), dtype=np.float32), name="W")
    y = sg.matmul(x, W, name="y")
    ir = lower([y])
    data = ir.nodes[y.id]
    assert data["op"].name == "matmul" and data["inputs"] == [x.id, W.id]
    assert data["shape"] == (None, 2) and data["dtype"] == np.float32
    assert data["name"] == "y" and data["origin"] == "forward" and data["node"] is y
    kinds = {ir.nodes[n.id]["kind"] for n in (x, W)} | {data["kind"]}
    assert kinds == {"feed", "variable", "op"}


def test_an_input_used_twice_keeps_both_positions():
    x = sg.Placeholder((2,), name="x")
    y = x * x
    ir = lower([y])
    assert ir.nodes[y.id]["inputs"] == [x.id, x.id]  # one edge, two inputs
    assert ir.number_of_edges() == 1


def test_lowering_never_changes_the_users_graph():
    x = sg.Placeholder((2,), name="x")
    y = sg.sum(x * 2.0)
    before = [(n.name, n.inputs) for n in sg.get_default_graph().nodes]
    sg.compile(y)
    sg.compile(y, feeds=[x])
    assert [(n.name, n.inputs) for n in sg.get_default_graph().nodes] == before


def test_a_fed_node_cuts_the_graph_above_it():
    x = sg.Placeholder((None, 2), name="x")
    h = sg.tanh(x * 3.0, name="h")
    out = sg.sum(h * 2.0, name="out")
    ir = lower([out], feeds=[h])
    assert not ir.has_node(x.id)
    assert ir.nodes[h.id]["kind"] == "feed" and ir.nodes[h.id]["inputs"] == []
    listing = str(sg.compile(out, feeds=[h]))
    assert " tanh " not in listing and " x\n" not in listing
    with sg.Session() as sess:  # x is never fed: its only consumer is cut off
        assert sess.run(out, {h: np.ones((3, 2))}) == pytest.approx(12.0)


def test_a_cycle_made_by_hand_is_a_graph_error_naming_it():
    a = sg.Placeholder((), name="a")
    b = sg.add(a, 1.0, name="b")
    c = sg.mul(b, 2.0, name="c")
    b.inputs = (c, b.inputs[1])  # b now depends on c, which depends on b
    with pytest.raises(sg.GraphError, match=r"cycle: (b -> c -> b|c -> b -> c)") as info:
        sg.compile(c)
    assert "do not edit node.inputs" in str(info.value)
    with sg.Session() as sess, pytest.raises(sg.GraphError, match="cycle"):
        sess.run(c, {a: 1.0})


def test_a_node_that_is_its_own_input_is_a_cycle():
    a = sg.Placeholder((), name="a")
    b = sg.add(a, 1.0, name="b")
    b.inputs = (b, b.inputs[1])
    with pytest.raises(sg.GraphError, match="cycle: b -> b"):
        sg.compile(b)


def test_two_updates_of_one_variable_are_a_graph_error():
    v = sg.Variable(np.zeros(2), name="v")
    first = sg.assign(v, v + 1.0, name="first")
    second = sg.assign(v, v + 2.0, name="second")
    with pytest.raises(sg.GraphError, match="v is updated twice in one run") as info:
        sg.compile([first, second])
    assert "first" in str(info.value) and "second" in str(info.value)
    sg.compile([first])  # each on its own is fine
    sg.compile([second])


def test_a_pass_that_edits_attrs_leaves_the_users_node_and_earlier_steps_alone():
    """start() promises a copy; the attrs dict was the Node's own (found by a bug hunt)."""
    from symgraph.compiler.rewrite import start

    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = sg.sum(x, axis=0, keepdims=True, name="y")
    ir = lower([y])
    copy = start(ir)
    copy.nodes[y.id]["attrs"]["keepdims"] = False
    assert y.attrs["keepdims"] is True
    assert ir.nodes[y.id]["attrs"]["keepdims"] is True
    ir.nodes[y.id]["attrs"]["keepdims"] = False  # even the lowered IR's own edits
    assert y.attrs["keepdims"] is True


def test_make_node_keeps_a_copy_of_the_attrs_it_is_given():
    from symgraph.graph import make_node
    from symgraph.ops.reduce import Sum

    x = sg.Placeholder((3,), dtype="float64", name="x")
    attrs = {"axis": (0,), "keepdims": True}
    a = make_node(Sum(), (x,), attrs)
    attrs["keepdims"] = False
    b = make_node(Sum(), (x,), attrs)
    assert a.attrs["keepdims"] is True and b.attrs["keepdims"] is False
