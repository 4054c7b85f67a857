"""Hostile names render as themselves and cannot break the DOT or add attributes to it."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest

import symgraph as sg

from .dotparse import parse

HOSTILE = [
    'quote"inside',
    "angle<b>brackets<\\b>",  # no '/': a slash separates name scopes
    "pipe|and{braces}",
    "new\nline",
    "back\\slash",
    "trailing\\",
    '"];n0 -> n1 [color=red',
    "amp&amp;ersand",
    "<<html>>",
    "tab\tand\x01control",
    "unicode é → ∂",
]
# What each one looks like in the picture: control characters shown as escapes.
VISIBLE = {
    "new\nline": "new\\nline",
    "tab\tand\x01control": "tab\\tand\\x01control",
}


def build_hostile_graph():
    leaves = [sg.Placeholder((2,), name=n) for n in HOSTILE]
    with sg.name_scope('scope"<|>{}'):
        total = sg.add(leaves[0], leaves[1], name="we\nird")
    return leaves, total


def test_hostile_names_become_exactly_their_own_labels():
    leaves, total = build_hostile_graph()
    dot = parse(sg.to_dot(sg.get_default_graph(), title='title "<b>"', labels={total: "x]y"}))
    labels = sorted(dot.label(n) for n in dot.model_nodes())
    expected = sorted([VISIBLE.get(n, n) for n in HOSTILE] + ["x]y\nadd"])
    assert labels == expected
    assert len(dot.real_edges()) == 2  # nothing injected
    assert {a.get("color") for _, _, a in dot.real_edges()} == {"#555555"}
    assert [c.label for c in dot.clusters.values() if c.label != "legend"] == ['scope"<|>{}']
    assert dot.graph_attrs["label"] and '"<b>"' in parse_title(dot)
    assert len(leaves) == len(HOSTILE)


def parse_title(dot) -> str:
    from .dotparse import text_of

    return text_of(dot.graph_attrs["label"])


def test_dot_ids_are_generated_never_taken_from_names():
    build_hostile_graph()
    text = sg.to_dot(sg.get_default_graph())
    ids = re.findall(r"^\s*(\S+) \[label=", text, flags=re.M)
    assert ids and all(re.fullmatch(r"(n|c)\d+|legend_\w+", i) for i in ids)


def test_hostile_names_render_through_real_dot(tmp_path, require_program):
    require_program("dot")
    build_hostile_graph()
    path = sg.render(sg.get_default_graph(), tmp_path / "hostile.svg")
    svg = Path(path).read_text(encoding="utf-8")
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    for name in HOSTILE:
        assert VISIBLE.get(name, name) in texts, name
    assert 'scope"<|>{}' in texts


@pytest.mark.parametrize("name", ["a\ud800b", "\x7f"])
def test_unencodable_and_invisible_characters_are_shown_as_escapes(name):
    sg.Placeholder((2,), name=name)
    dot = parse(sg.to_dot(sg.get_default_graph()))
    (label,) = [dot.label(n) for n in dot.model_nodes()]
    assert "\\" in label and label.isprintable()


def test_empty_text_renders_through_real_dot(tmp_path, require_program):
    # Graphviz rejects an empty element (<B></B>): an empty chosen label, and the box of
    # a scope whose first level has no name ("/lead" collapsed one deep), must still draw.
    require_program("dot")
    x = sg.Placeholder((3,), name="x")
    y = sg.tanh(x)
    with sg.name_scope("/lead"):
        z = sg.tanh(x)
    sg.render(y, tmp_path / "e1.svg", labels={y: "", x: ""})
    sg.render(z, tmp_path / "e2.svg", collapse=1)
    assert "<B></B>" not in sg.to_dot(z, collapse=1)


ODD = ["x\ud800", "x\x1b[31m", "x\ufffe", "x\uffff"]


@pytest.mark.parametrize("name", ODD)
def test_odd_characters_in_names_render_through_real_dot(name, tmp_path, require_program):
    # U+FFFE and U+FFFF are not XML: Graphviz's label parser failed on them.
    require_program("dot")
    x = sg.Placeholder((3,), name=name)
    svg = Path(sg.render(sg.tanh(x), tmp_path / "odd.svg", title=name)).read_text("utf-8")
    assert name[1:].encode("unicode_escape").decode("ascii") in svg  # '\\ufffe', ...


@pytest.mark.parametrize("name", ODD)
def test_odd_characters_in_names_reach_the_explorer_page_as_escapes(
    name, tmp_path, require_program
):
    # The page is written as UTF-8 (a lone surrogate failed to encode), and its
    # listing lines and tooltips hold no raw control characters (ESC) or noncharacters.
    require_program("dot")
    x = sg.Placeholder((3,), name=name)
    with sg.name_scope("scope" + name[1:]):
        y = sg.tanh(x, name="y")
    path = sg.explain(y, feeds={x: np.ones(3, "float32")}).save_html(tmp_path / "odd.html")
    page = Path(path).read_text(encoding="utf-8")
    bad = [c for c in page if (ord(c) < 0x20 and c not in "\n\t") or c in "\x7f\ufffe\uffff"]
    assert not bad
    escaped = name[1:].encode("unicode_escape").decode("ascii")  # '\\x1b[31m', '\\ud800'
    assert escaped in page


def test_a_very_long_name_is_shortened_in_its_label():
    """A 10,000-character name drew a box 117,000 points wide (found by a bug hunt); a
    label line shows the name's start and end around an ellipsis."""
    x = sg.Placeholder((3,), name="x")
    y = sg.tanh(x, name="very_" * 2000 + "long_tanh")
    dot = sg.to_dot(y)
    assert y.name not in dot and "\u2026" in dot and "very_long_tanh" in dot
    assert max(len(line) for line in dot.splitlines()) < 400


def test_a_long_name_is_shortened_as_it_is_shown_with_its_escapes():
    """80 ESC characters are 320 once written \\x1b: shortened before that, the label
    was 2,582 points wide (found by a bug hunt)."""
    x = sg.Placeholder((3,), name="\x1b" * 200)
    label = next(line for line in sg.to_dot(x).splitlines() if "label=<" in line and "n0" in line)
    assert label.count("\\x1b") < 30
