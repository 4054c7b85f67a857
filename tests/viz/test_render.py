"""render: real files from Graphviz's dot, format by suffix, and a clear error without dot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import symgraph as sg
from symgraph.viz import layout

from .dotparse import parse
from .models import mlp


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH with nothing on it, as on a machine without Graphviz."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_svg_png_and_pdf_come_from_the_suffix(tmp_path, require_program):
    require_program("dot")
    m = mlp()
    for suffix, magic in [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")]:
        path = sg.render(m["loss"], tmp_path / f"loss{suffix}")
        assert path == str(tmp_path / f"loss{suffix}")
        with open(path, "rb") as f:
            assert f.read(5).startswith(magic)
    svg = Path(tmp_path / "loss.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and ">tanh<" in svg and ">legend<" in svg


def test_a_whole_graph_with_gradients_and_updates_renders(tmp_path, require_program):
    require_program("dot")
    mlp()
    path = sg.render(
        sg.get_default_graph(),
        tmp_path / "g.svg",
        names=True,
        shapes="edge",
        grad_links=True,
        rankdir="LR",
    )
    svg = Path(path).read_text(encoding="utf-8")
    assert ">group<" in svg and ">SGD<" in svg


def test_dot_suffix_writes_the_dot_text_and_needs_no_graphviz(tmp_path, no_dot):
    m = mlp()
    path = sg.render(m["loss"], tmp_path / "loss.dot")
    text = Path(path).read_text(encoding="utf-8")
    assert text == sg.to_dot(m["loss"])
    assert parse(text).one("tanh")


def test_to_dot_needs_no_graphviz(no_dot):
    m = mlp()
    assert sg.to_dot(sg.get_default_graph()).startswith("digraph")
    assert m


def test_missing_dot_is_a_render_error_that_says_how_to_install(tmp_path, no_dot):
    m = mlp()
    with pytest.raises(sg.RenderError) as e:
        sg.render(m["loss"], tmp_path / "loss.svg")
    message = str(e.value)
    assert "Graphviz's `dot` program is not on PATH" in message
    assert "install graphviz" in message.lower() and ".dot" in message
    assert isinstance(e.value, sg.SymgraphError)
    assert not (tmp_path / "loss.svg").exists()


def test_without_dot_the_explorer_page_and_explain_give_advice_that_fits_them(
    tmp_path, no_dot, capsys
):
    # "save the DOT text with a .dot suffix" is a picture's way round, not a page's.
    from symgraph.__main__ import main

    m = mlp()
    steps = sg.explain(m["loss"], feeds=[m["x"], m["y"]])
    with pytest.raises(sg.RenderError) as e:
        steps.save_html(tmp_path / "page.html")
    message = str(e.value)
    assert "install graphviz" in message.lower() and ".dot suffix" not in message
    assert "print(steps)" in message and ".listing" in message
    assert str(steps) and steps["fuse"].listing and steps["fuse"].to_dot()  # work without dot
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    assert main(["explain", str(script), "-o", str(tmp_path / "p.html")]) == 2
    err = capsys.readouterr().err
    assert "install graphviz" in err.lower() and ".dot suffix" not in err


def test_install_advice_names_the_package_manager():
    assert "apt-get install graphviz" in layout.install_advice() or os.name != "posix"


def test_unknown_suffix_and_missing_folder_are_render_errors(tmp_path):
    m = mlp()
    with pytest.raises(sg.RenderError, match=r"\.svg"):
        sg.render(m["loss"], tmp_path / "loss.jpeg")
    with pytest.raises(sg.RenderError, match="does not exist"):
        sg.render(m["loss"], tmp_path / "nowhere" / "loss.dot")


def test_node_graph_and_program_show_themselves_in_jupyter(require_program):
    require_program("dot")
    m = mlp()
    program = sg.compile(m["loss"], feeds=[m["x"], m["y"]])
    step = sg.explain(m["loss"], feeds=[m["x"], m["y"]])["fuse"]  # a compiler step too
    for thing in (m["loss"], sg.get_default_graph(), program, step):
        svg = thing._repr_svg_()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_jupyter_falls_back_to_text_without_dot(no_dot):
    m = mlp()
    assert m["loss"]._repr_svg_() is None
    assert sg.explain(m["loss"], feeds=[m["x"], m["y"]])["fuse"]._repr_svg_() is None
    assert "Node" in repr(m["loss"])


def test_jupyter_collapses_a_big_graph_instead_of_refusing(require_program, monkeypatch):
    require_program("dot")
    from .models import rnn

    rnn(steps=60, per_step=4)
    svg = sg.get_default_graph()._repr_svg_()
    assert svg is not None and "step_59" in svg


def test_jupyter_shows_a_note_with_advice_for_a_graph_too_big_even_collapsed(require_program):
    # 2,100 Nodes in no scope: no collapse can box them. A None would show the text
    # repr with no word of why; the note is SVG that any XML parser (and Jupyter) takes.
    import xml.etree.ElementTree as ET

    require_program("dot")
    h = sg.Placeholder((3,), name="x")
    for _ in range(2100):
        h = sg.tanh(h)
    svg = h._repr_svg_()
    root = ET.fromstring(svg)
    text = " ".join(t.text for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "too many to read" in text and "max_nodes=None" in text and "in no scope" in text


def test_an_unrolled_rnns_training_step_renders_whole_and_collapsed(tmp_path, require_program):
    """Graphviz 2.43 (Debian bookworm's) stops with "trouble in init_rank" on this
    picture as drawn; render then lays it out without the chains' groups (found by a
    bug hunt: every RNN training graph of 2 steps or more failed)."""
    require_program("dot")
    ids = sg.Placeholder((None, 2), dtype="int64", name="ids")
    first = sg.Placeholder((None,), dtype="int64", name="first")
    cell, head = sg.nn.RNNCell(4, 8), sg.nn.Linear(8, 4)
    _, h = sg.nn.unroll(cell, sg.unstack(sg.one_hot(ids, 4), axis=1))
    loss = sg.nn.CrossEntropyLoss()(head(h), first)
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    for target, options in ((sg.get_default_graph(), {}), (train, {"collapse": ["rnn/step_*"]})):
        path = sg.render(target, tmp_path / "rnn.svg", **options)
        assert "<svg" in Path(path).read_text(encoding="utf-8")


def test_the_layouts_tried_drop_the_groups_then_the_frames():
    source = 'digraph { subgraph cluster_a { n1 [label=a group=forward]; n2 [label=b group=forward] } }'
    first, no_groups, no_frames = layout.layout_attempts(source)
    assert first == source
    assert "group=" not in no_groups and "subgraph cluster_a" in no_groups
    assert "subgraph cluster_" not in no_frames and "subgraph plain_a" in no_frames


def test_a_step_of_explain_draws_as_the_pictures_page_says():
    m = mlp()
    step = sg.explain(m["loss"], feeds=[m["x"], m["y"]])["fuse"]
    assert sg.to_dot(step) == sg.to_dot(step.ir)
    assert "fused" in sg.to_dot(step)
