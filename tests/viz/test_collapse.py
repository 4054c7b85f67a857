"""Collapsed scopes: one box each, edges between boxes, and big graphs that stay drawable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import symgraph as sg
from symgraph.viz.collapse import auto_depth
from symgraph.viz.records import vertices_of

from .dotparse import parse
from .models import rnn


def boxes(dot):
    return [n for n in dot.model_nodes() if dot.nodes[n]["shape"] == "box3d"]


def test_each_collapsed_scope_is_one_box_with_its_inputs_and_outputs():
    parts = rnn(steps=4)
    loss = sg.mean(parts["h"], name="loss")
    dot = parse(sg.to_dot(loss, collapse=["rnn/step_*"], legend=False))
    names = [dot.label(n).split("\n")[0] for n in boxes(dot)]
    assert names == ["step_0", "step_1", "step_2", "step_3"]
    # step_t -> step_t+1 once (one edge per neighbour, however many values cross)
    chain = [
        (dot.label(t).split("\n")[0], dot.label(h).split("\n")[0]) for t, h, _ in dot.real_edges()
    ]
    for t in range(3):
        assert chain.count((f"step_{t}", f"step_{t + 1}")) == 1
    assert ("step_3", "loss") in chain
    for b in ("Wx", "Wh", "b"):
        readers = [h for t, h, _ in dot.real_edges() if t == dot.one(b)]
        assert len(readers) == 4
    # Each box says what it holds and sits in its parent scope's cluster.
    assert dot.label(boxes(dot)[0]) == "step_0\n5 ops, 1 placeholder"
    assert all(dot.cluster_path(n) == ["rnn"] for n in boxes(dot))


def test_collapse_by_depth_and_by_exact_name():
    rnn(steps=3)
    graph = sg.get_default_graph()
    by_depth = parse(sg.to_dot(graph, collapse=2, legend=False))
    assert len(boxes(by_depth)) == 3
    exact = parse(sg.to_dot(graph, collapse=["rnn/step_1"], legend=False))
    assert [exact.label(n).split("\n")[0] for n in boxes(exact)] == ["step_1"]
    whole = parse(sg.to_dot(graph, collapse=1, legend=False))
    assert [whole.label(n).split("\n")[0] for n in whole.model_nodes()] == ["rnn"]


def test_gradient_scopes_collapse_too_and_keep_their_colour():
    parts = rnn(steps=3)
    loss = sg.mean(parts["h"], name="loss")
    grads = sg.gradients(loss, [parts["Wx"], parts["Wh"], parts["b"]])
    dot = parse(sg.to_dot([loss, *grads], collapse=["rnn/step_*", "gradients/rnn/step_*"]))
    grad_boxes = [n for n in boxes(dot) if dot.cluster_path(n) == ["gradients", "rnn"]]
    assert len(grad_boxes) == 3
    assert {dot.nodes[n]["color"] for n in grad_boxes} == {
        sg.viz.styles.ORIGIN_COLORS["gradient"][0]
    }


def test_too_big_with_scope_names_suggests_their_gradient_scopes_not_the_same_names():
    parts = rnn(steps=100, per_step=3)
    loss = sg.mean(parts["h"], name="loss")
    grads = sg.gradients(loss, [parts["Wx"], parts["Wh"], parts["b"]])
    with pytest.raises(sg.RenderError) as info:
        sg.to_dot([loss, *grads], collapse=["rnn/step_*"])
    message = str(info.value)
    assert "collapse=['rnn/step_*', 'gradients/rnn/step_*']" in message
    assert "collapse=['rnn/step_*'] " not in message  # not what was just tried
    sg.to_dot([loss, *grads], collapse=["rnn/step_*", "gradients/rnn/step_*"])  # and it fits


def test_auto_picks_the_deepest_depth_that_fits():
    rnn(steps=30, per_step=2)
    vertices = vertices_of(sg.get_default_graph())
    assert auto_depth(vertices, 10_000) is None
    assert auto_depth(vertices, 100) == 2
    dot = parse(sg.to_dot(sg.get_default_graph(), collapse="auto", max_nodes=100))
    assert len(boxes(dot)) == 30


def test_a_graph_too_big_to_read_is_refused_with_advice_to_collapse():
    rnn(steps=30, per_step=3)
    with pytest.raises(sg.RenderError) as e:
        sg.to_dot(sg.get_default_graph(), max_nodes=200)
    message = str(e.value)
    assert "more than max_nodes=200" in message
    assert "collapse=" in message and "'rnn'" in message
    assert sg.to_dot(sg.get_default_graph(), max_nodes=None)  # can be overridden


def test_ten_thousand_nodes_collapsed_render_in_under_30_seconds(tmp_path, require_program):
    require_program("dot")
    start = time.perf_counter()
    rnn(steps=100, per_step=33)  # 100 steps of 99 ops and a placeholder
    graph = sg.get_default_graph()
    assert len(graph) >= 10_000
    with pytest.raises(sg.RenderError, match="collapse"):
        sg.render(graph, tmp_path / "all.svg")  # refuses at once, without running dot
    path = sg.render(graph, tmp_path / "rnn.svg", collapse=["rnn/step_*"])
    assert time.perf_counter() - start < 30
    assert Path(path).read_text(encoding="utf-8").count("step_") >= 100


def test_unstacks_slices_sit_in_a_scope_so_auto_collapse_can_box_them():
    """A 2,000-step sequence's slices were loose top-level nodes: collapse='auto' could
    not fit the picture, and its hint suggested collapse='auto' (found by a bug hunt)."""
    xs = sg.Placeholder((2, 2000), dtype="float64", name="xs")
    steps = sg.unstack(xs, axis=1)
    assert steps[0].name == "unstack/getitem" and steps[-1].name == "unstack/getitem_1999"
    total = steps[0]
    with sg.name_scope("rnn"):
        for s in steps[1:]:
            total = total + s
    sg.to_dot(total, collapse="auto")  # fits now


def test_a_picture_too_big_says_which_nodes_no_collapse_can_box():
    loose = [sg.Placeholder((2,), name=f"p{i}") for i in range(30)]
    total = loose[0]
    for p in loose[1:]:
        total = total + p
    with pytest.raises(sg.RenderError) as info:
        sg.to_dot(total, collapse="auto", max_nodes=20)
    message = str(info.value)
    assert "nodes are in no scope (such as 'p0')" in message
    assert "or collapse='auto'" not in message  # the option just used


def test_a_scope_name_is_first_matched_exactly_and_a_leading_slash_is_kept():
    # As a wildcard, "layer[0]" means "layer0"; a scope literally named "layer[0]" is
    # collapsed by its own name. name_scope("/lead") makes the scope "/lead".
    x = sg.Placeholder((3,), name="x")
    with sg.name_scope("layer[0]"):
        a = sg.tanh(x)
    with sg.name_scope("/lead"):
        b = sg.tanh(a)
    dot = parse(sg.to_dot(b, collapse=["layer[0]", "/lead"]))
    assert sorted(dot.label(n) for n in boxes(dot)) == ["/lead\n1 op", "layer[0]\n1 op"]


def test_a_pattern_naming_a_scope_is_not_also_a_wildcard():
    """collapse=['layer[0]'] boxed the scope 'layer[0]' and also 'layer0', which the
    wildcard [0] matches (found by a bug hunt)."""
    x = sg.Placeholder((2,), name="x")
    with sg.name_scope("layer[0]"):
        a = sg.tanh(x)
    with sg.name_scope("layer0"):
        b = sg.tanh(a)
    b = b * 2.0  # (the fetched Node itself is never boxed)
    dot = parse(sg.to_dot(b, collapse=["layer[0]"]))
    assert [dot.label(n) for n in boxes(dot)] == ["layer[0]\n1 op"]  # layer0 drawn as it is
    wild = parse(sg.to_dot(b, collapse=["layer*"]))  # no scope of that name: a wildcard still
    assert sorted(wild.label(n) for n in boxes(wild)) == ["layer0\n1 op", "layer[0]\n1 op"]


def test_a_pattern_that_matches_no_scope_is_warned_of():
    """collapse=['/rnn'] (or a typo) drew nothing collapsed without a word (found by a
    bug hunt): a warning names the pattern and the graph's outermost scopes."""
    x = sg.Placeholder((2,), name="x")
    with sg.name_scope("rnn"):
        y = sg.tanh(x)
    with pytest.warns(UserWarning, match=r"'/rnn' matched no scope of this graph \(its outermost scopes: rnn\)"):
        sg.to_dot(y, collapse=["/rnn"])
