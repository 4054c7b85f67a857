"""The DOT of a picture, read back as a graph: nodes, edges, clusters, styles."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.compiler.pipeline import compile_steps
from symgraph.viz import styles

from .dotparse import parse
from .models import mlp, rnn

BLUE, VERMILION, GREEN = (styles.ORIGIN_COLORS[o][0] for o in ("forward", "gradient", "update"))


def test_each_kind_of_node_has_its_own_shape_and_the_edges_follow_the_inputs():
    x = sg.Placeholder((None, 3), name="x")
    W = sg.Variable(np.ones((3, 2), "float32"), name="W")
    y = sg.mul(x @ W, sg.Constant(np.float32(2.0)), name="scaled")
    dot = parse(sg.to_dot(y))

    assert sorted(dot.label(n) for n in dot.model_nodes()) == [
        "2.0",
        "W",
        "matmul",
        "scaled\nmul",
        "x",
    ]
    shapes = {dot.label(n): dot.nodes[n]["shape"] for n in dot.model_nodes()}
    assert shapes == {
        "x": "ellipse",
        "W": "cylinder",
        "2.0": "box",
        "matmul": "box",
        "scaled\nmul": "box",
    }
    assert "rounded" in dot.nodes[dot.one("matmul")]["style"]
    assert "dashed" in dot.nodes[dot.one("2.0")]["style"]
    edges = [(dot.label(t), dot.label(h)) for t, h, _ in dot.real_edges()]
    assert edges == [
        ("x", "matmul"),
        ("W", "matmul"),
        ("matmul", "scaled\nmul"),
        ("2.0", "scaled\nmul"),
    ]


def test_origins_have_their_colours_and_the_legend_names_them():
    m = mlp()
    dot = parse(sg.to_dot(sg.get_default_graph()))
    by_origin = {}
    for node in sg.get_default_graph().nodes:
        by_origin.setdefault(node.origin, 0)
        by_origin[node.origin] += 1
    colours = [dot.nodes[n]["color"] for n in dot.model_nodes()]
    assert colours.count(VERMILION) == by_origin["gradient"]
    assert GREEN in colours and BLUE in colours
    # The loss (forward) and the step (update) keep their own colours.
    assert dot.nodes[dot.one("mse")]["color"] == BLUE
    assert dot.nodes[dot.one("step")]["color"] == GREEN
    legend = {dot.label(n) for n in dot.nodes if n.startswith("legend_")}
    assert {"placeholder", "variable", "constant", "op", "forward", "gradient", "update"} <= legend
    assert m["train"] is not None


def test_name_scopes_become_nested_clusters():
    rnn(steps=2)
    dot = parse(sg.to_dot(sg.get_default_graph()))
    labels = {c.label for c in dot.clusters.values()}
    assert {"rnn", "step_0", "step_1", "legend"} <= labels
    tanh = [n for n in dot.model_nodes() if dot.label(n) == "tanh"]
    assert [dot.cluster_path(n) for n in tanh] == [["rnn", "step_0"], ["rnn", "step_1"]]
    assert dot.cluster_path(dot.one("Wx")) == ["rnn"]
    # A leaf inside a scope is labelled with its name relative to the cluster.
    assert len(dot.ids_labelled("x")) == 2


def test_scopes_can_be_flattened_or_cut_at_a_depth():
    rnn(steps=2)
    flat = parse(sg.to_dot(sg.get_default_graph(), scopes=False, legend=False))
    assert flat.clusters == {}
    assert {flat.label(n) for n in flat.model_nodes()} >= {"rnn/step_0/x", "rnn/Wx"}
    one = parse(sg.to_dot(sg.get_default_graph(), scopes=1, legend=False))
    assert [c.label for c in one.clusters.values()] == ["rnn"]
    assert len(one.ids_labelled("step_0/x")) == 1


def test_a_node_target_draws_it_and_its_ancestors_only():
    m = mlp()
    other = sg.exp(m["x"], name="unrelated")
    dot = parse(sg.to_dot(m["h"]))
    labels = sorted(dot.label(n) for n in dot.model_nodes())
    assert labels == ["W", "add", "b", "matmul", "tanh", "x"]
    assert other.name not in sg.to_dot(m["h"])
    # The target is fetched: drawn with a double border.
    assert dot.nodes[dot.one("tanh")].get("peripheries") == "2"


def test_a_list_target_draws_the_union_of_ancestors():
    m = mlp(train=False)
    grads = sg.gradients(m["loss"], [m["W1"], m["W2"]])
    dot = parse(sg.to_dot([m["loss"], *grads]))
    originals = [n for n in dot.model_nodes() if not n.startswith("c")]  # c0, c1: copies
    assert len(originals) == len(sg.viz.vertices_of([m["loss"], *grads]))
    sg.exp(m["x"], name="unrelated")
    assert len(originals) == len(sg.get_default_graph()) - 1
    fetched = [n for n in dot.model_nodes() if dot.nodes[n].get("peripheries") == "2"]
    assert len(fetched) == 3


def test_a_program_is_drawn_with_its_slots():
    m = mlp(train=False)
    program = sg.compile(m["loss"], feeds=[m["x"], m["y"]])
    dot = parse(sg.to_dot(program))
    slots = {inst.name: inst.out for inst in program.instructions}
    assert dot.label(dot.one("mse")) == f"mse\nmean\n%{slots['mse']}"
    n_values = len(program.feeds) + len(program.variables) + len(program.constants)
    assert len(dot.model_nodes()) == n_values + len(program.instructions)


def test_a_compiler_step_is_drawn_with_highlighted_vertices():
    m = mlp(train=False)
    _, steps = compile_steps([m["loss"]], feeds=[m["x"], m["y"]])
    ir = steps[0].ir  # the lowered graph, before any pass changed it
    tanh_key = next(k for k in ir.nodes if ir.nodes[k]["name"] == "hidden/tanh")
    dot = parse(sg.to_dot(ir, highlight={tanh_key: "added"}))
    attrs = dot.nodes[dot.one("tanh")]
    assert attrs["color"] == styles.HIGHLIGHT_COLOR and attrs["penwidth"] == "3"
    assert "added" in {dot.label(n) for n in dot.nodes if n.startswith("legend_")}


def test_names_shapes_and_dtypes_on_request():
    m = mlp(train=False)
    plain = parse(sg.to_dot(m["loss"]))
    assert plain.label(plain.one("tanh")) == "tanh"
    named = parse(sg.to_dot(m["loss"], names=True, shapes="node", dtypes=True))
    assert named.label(named.one("tanh")) == "tanh\ntanh\n(None, 3) float32"
    on_edges = parse(sg.to_dot(m["loss"], shapes="edge"))
    edge_labels = {
        (on_edges.label(t), on_edges.label(h)): a.get("label") for t, h, a in on_edges.edges
    }
    assert on_edges.edges and "(None, 3)" in edge_labels[("tanh", "matmul")]


def test_chosen_labels_replace_the_op_name():
    m = mlp(train=False)
    (dW1,) = sg.gradients(m["loss"], [m["W1"]])
    dot = parse(sg.to_dot([m["loss"], dW1], labels={dW1: "dW1", m["loss"]: "loss"}))
    assert dot.label(dot.one("dW1")) == "dW1\nmatmul"
    assert dot.label(dot.one("loss")) == "loss\nmean"


def test_gradients_are_laid_out_backward_but_their_arrows_keep_the_data_direction():
    m = mlp(train=False)
    (dW1,) = sg.gradients(m["loss"], [m["W1"]])
    text = sg.to_dot([m["loss"], dW1], labels={dW1: "dW1"})
    dot = parse(text)
    assert any(a.get("dir") == "back" for _, _, a in dot.edges)
    # Read back, every edge runs from an input to its consumer: dW1 is the end of the line.
    dw1 = dot.one("dW1")
    assert all(tail != dw1 for tail, _, _ in dot.real_edges())
    assert any(head == dw1 for _, head, _ in dot.real_edges())


def test_grad_links_draw_a_dashed_line_to_the_forward_node_differentiated():
    m = mlp(train=False)
    (dW1,) = sg.gradients(m["loss"], [m["W1"]])
    dot = parse(sg.to_dot([m["loss"], dW1], grad_links=True))
    links = [
        (t, h) for t, h, a in dot.edges if a.get("style") == "dashed" and not t.startswith("legend")
    ]
    assert links
    for tail, head in links:
        assert dot.nodes[tail]["color"] == VERMILION and dot.nodes[head]["color"] == BLUE
    assert "tanh" in {dot.label(h) for _, h in links}
    assert all(a.get("constraint") == "false" for t, _, a in dot.edges if (t, _) in links)


def test_a_variable_read_by_the_optimizer_is_drawn_again_next_to_it():
    mlp()
    dot = parse(sg.to_dot(sg.get_default_graph()))
    copies = [n for n in dot.model_nodes() if n.startswith("c")]
    sgd_copies = [n for n in copies if dot.cluster_path(n) == ["SGD"]]
    assert sorted(dot.label(n) for n in sgd_copies) == [
        "hidden/W",
        "hidden/b",
        "output/W",
        "output/b",
    ]
    assert all("dashed" in dot.nodes[n]["style"] for n in copies)
    # No edge runs from the model's own W to the update ops any more.
    w = dot.ids_labelled("W")
    assert not [h for t, h, _ in dot.real_edges() if t in w and dot.nodes[h]["color"] == GREEN]
    without = parse(sg.to_dot(sg.get_default_graph(), copy_leaves=False))
    assert not [n for n in without.model_nodes() if n.startswith("c")]


def test_a_weight_shared_by_many_steps_is_drawn_next_to_each():
    rnn(steps=12)
    dot = parse(sg.to_dot(sg.get_default_graph(), collapse=["rnn/step_*"], legend=False))
    assert len(dot.ids_labelled("Wh")) == 1 + 12  # the Variable, and a copy by each step
    few = parse(sg.to_dot(sg.get_default_graph(), collapse=["rnn/step_*"], copy_leaves=False))
    wh = few.one("Wh")
    assert len([1 for t, _, _ in few.real_edges() if t == wh]) == 12


@pytest.mark.parametrize(
    "options",
    [
        dict(shapes="everywhere"),
        dict(rankdir="up"),
        dict(collapse=0),
        dict(collapse=True),
        dict(scopes=-1),
    ],
)
def test_bad_options_are_refused_with_a_render_error(options):
    x = sg.Placeholder((2,), name="x")
    with pytest.raises(sg.RenderError):
        sg.to_dot(sg.exp(x), **options)


def test_an_unknown_option_is_refused_with_the_list_of_options():
    x = sg.Placeholder((2,), name="x")
    with pytest.raises(sg.RenderError, match="colour") as e:
        sg.to_dot(x, colour="red")
    assert "collapse" in str(e.value) and "to_dot()" in str(e.value)


@pytest.mark.parametrize("target", [42, "x", [], [1, 2], None])
def test_things_that_are_not_graphs_are_refused_with_advice(target):
    with pytest.raises(sg.RenderError, match="cannot draw") as e:
        sg.to_dot(target)
    assert "Node" in str(e.value) and "Program" in str(e.value)


def test_nodes_of_two_graphs_cannot_share_a_picture():
    a = sg.Placeholder((2,), name="a")
    with sg.Graph().as_default():
        b = sg.Placeholder((2,), name="b")
    with pytest.raises(sg.RenderError, match="two Graphs"):
        sg.to_dot([a, b])
