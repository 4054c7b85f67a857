"""The explorer page (explanation.save_html): its structure, read back with html.parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

import symgraph as sg
from symgraph.viz import explorer
from symgraph.viz.condense import condense, fold_runs
from symgraph.viz.memory_view import MAX_BARS, live_bytes, nice_bytes
from symgraph.viz.records import Vertex

from .models import mlp

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def walk(self):
        stack = [self]
        while stack:
            e = stack.pop()
            yield e
            stack.extend(reversed(e.children))

    def find(self, tag=None, cls=None):
        return [
            e
            for e in self.walk()
            if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
        ]

    def all_text(self):
        return "".join("".join(e.text) for e in self.walk())


class Tree(HTMLParser):
    """The page as a tree of Elements; SVG's self-closing tags are closed at once."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Element("#root", {}, None)
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.at)
        self.at.children.append(e)
        if tag not in VOID:
            self.at = e

    def handle_startendtag(self, tag, attrs):
        self.at.children.append(Element(tag, attrs, self.at))

    def handle_endtag(self, tag):
        e = self.at
        while e is not None and e.tag != tag:
            e = e.parent
        if e is not None and e.parent is not None:
            self.at = e.parent

    def handle_data(self, data):
        self.at.text.append(data)


@pytest.fixture(scope="module")
def mlp_page(tmp_path_factory):
    """The MLP's explanation and its page, parsed (built once for the module)."""
    from _system import require_program

    require_program("dot")
    sg.reset_default_graph()
    m = mlp()
    X = np.ones((5, 2), "float32")
    steps = sg.explain([m["loss"], m["train"]], feeds={m["x"]: X, m["y"]: X[:, :1]})
    path = tmp_path_factory.mktemp("page") / "page.html"
    assert steps.save_html(path) == str(path)
    text = path.read_text(encoding="utf-8")
    return steps, text, Tree(text).root


def _section(root, name):
    return next(s for s in root.find("section", "step") if s.attrs["data-name"] == name)


def _marked_nodes(svgbox):
    return {
        g.attrs["data-n"]: g.classes
        for g in svgbox.find("g", "node")
        if "legend" not in g.classes and any(c.startswith("mark-") for c in g.classes)
    }


def _item_id(ir, key):
    """The DOT id a vertex is drawn with in an uncollapsed picture (records go in key order)."""
    return f"n{sorted(ir.nodes).index(key)}"


def test_one_section_per_step_each_with_its_picture_listing_and_memory_view(mlp_page):
    steps, _, root = mlp_page
    sections = root.find("section", "step")
    assert [s.attrs["data-name"] for s in sections] == [s.name for s in steps]
    for section in sections:
        assert section.find("svg"), section.attrs["data-name"]
        assert section.find("div", "listing")
        assert section.find("svg", "memory")
    links = root.find("a", "steplink")
    assert [link.attrs["href"] for link in links] == [f"#step-{i}" for i in range(len(steps))]


def test_steps_that_changed_nothing_are_folded_in_the_list(mlp_page):
    steps, _, root = mlp_page
    quiet = {link.attrs["data-i"] for link in root.find("a", "steplink") if "quiet" in link.classes}
    expected = {str(i) for i, s in enumerate(steps) if i > 0 and not s.report.changes}
    assert quiet == expected and quiet  # prune changes nothing in this model
    for section in root.find("section", "step"):
        assert ("quiet" in section.classes) == (section.attrs["data-i"] in expected)


def test_the_vertices_a_step_added_are_marked_in_its_picture(mlp_page):
    steps, _, root = mlp_page
    step = steps["gradients"]
    box = _section(root, "gradients").find("div", "after")[0]
    added = [c.key for c in step.report.changes if c.kind == "added"]
    marked = _marked_nodes(box)
    assert set(marked) == {_item_id(step.ir, k) for k in added}
    assert all("mark-added" in classes for classes in marked.values())


def test_what_a_step_took_away_is_marked_on_the_picture_before_it(mlp_page):
    steps, _, root = mlp_page
    i = [s.name for s in steps].index("cse")
    step, before = steps[i], steps[i - 1]
    section = _section(root, "cse")
    merged = [c for c in step.report.changes if c.kind == "merged"]
    assert merged
    marked = _marked_nodes(section.find("div", "before")[0])
    assert set(marked) == {_item_id(before.ir, c.key) for c in merged}
    # ... and what they were merged into is marked after it
    after = _marked_nodes(section.find("div", "after")[0])
    assert {"mark-merged-into"} <= set().union(*after.values())
    rows = section.find("div", "changes")[0].find("tr")
    assert len(rows) == len(step.report.changes)
    assert all(c.name in section.find("div", "changes")[0].all_text() for c in merged)


def test_listing_lines_are_matched_to_vertices_through_their_slots(mlp_page):
    steps, _, _ = mlp_page
    for step in steps:
        keys = explorer.line_keys(step)
        lines = step.listing.split("\n")
        assert len(keys) == len(lines)
        for key, line in zip(keys, lines):
            if key is None:
                assert not re.match(r"%\d+ = ", line)
                continue
            data = step.ir.nodes[key]
            if data["kind"] == "op":  # an instruction line ends with its vertex's name
                assert f" {data['name']}" in line, (step.name, line)


def test_the_lines_of_changed_vertices_are_marked_in_the_listing(mlp_page):
    steps, _, root = mlp_page
    i = [s.name for s in steps].index("fuse")
    step = steps[i]
    after, _ = explorer.marks(step, steps[i - 1].ir)
    listing = _section(root, "fuse").find("div", "listing")[0]
    marked = [e for e in listing.find("span", "line") if "data-mark" in e.attrs]
    assert len(marked) == len(after)
    fused = [c.name for c in step.report.changes if c.kind == "added"]
    text = " ".join(e.all_text() for e in marked)
    assert all(name in text for name in fused)
    assert all(
        e.attrs["data-mark"] in ("added", "merged into", "replacement", "replaced") for e in marked
    )
    # each marked line names the node that draws it, to link listing and picture
    ids = {
        g.attrs["data-n"]
        for g in _section(root, "fuse").find("div", "after")[0].find("g")
        if "data-n" in g.attrs
    }
    assert all(e.attrs["data-n"] in ids for e in marked)


def test_the_memory_view_draws_every_value_and_the_peak(mlp_page):
    steps, _, root = mlp_page
    step = steps["fuse"]
    plan = step.program.memory
    svg = _section(root, "fuse").find("svg", "memory")[0]
    bars = svg.find("rect", "bar")
    assert len(bars) == min(len(plan.intervals), MAX_BARS)
    assert svg.find("line", "peakline")
    assert f"peak {nice_bytes(plan.peak_bytes)}" in svg.all_text()
    alive_at_peak = [b for b in bars if "peak" in b.classes]
    assert alive_at_peak


def test_live_bytes_peak_matches_the_memory_plan(mlp_page):
    steps, _, _ = mlp_page
    for step in steps:
        plan = step.program.memory
        live = live_bytes(plan.intervals, len(step.program.instructions))
        assert int(live.max(initial=0)) == plan.peak_bytes, step.name


def test_the_page_is_self_contained(mlp_page):
    _, text, root = mlp_page
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    for e in root.walk():
        for attr in ("src", "href", "xlink:href"):
            value = e.attrs.get(attr)
            if value is not None:
                assert value.startswith(("#", "data:")), (e.tag, attr, value)
    assert "@import" not in text and "url(" not in text
    assert root.find("script") and root.find("style")


def test_the_same_explanation_gives_the_same_page(mlp_page):
    steps, text, _ = mlp_page
    assert explorer.page(steps) == text


# -- big graphs ------------------------------------------------------------------------------
def _v(name, key, inputs=()):
    return Vertex(key=key, kind="op", op="add", name=name, inputs=tuple(inputs))


def test_long_runs_of_numbered_scopes_fold_into_one_box():
    vertices = [_v(f"x{t}", t) for t in range(50)]
    vertices += [_v(f"rnn/step_{t}/add", 100 + t) for t in range(50)]
    vertices += [_v("loss", 999)]
    out, folded = fold_runs(vertices)
    names = [v.name for v in out]
    assert names[:3] == ["x0", "x1", "x2…47/x2"] and names[49] == "x49"
    assert names[50:53] == ["rnn/step_0/add", "rnn/step_1/add", "rnn/step_2…47/add"]
    assert names[-2:] == ["rnn/step_49/add", "loss"]
    assert folded == {"x2…47": 46, "rnn/step_2…47": 46}


def test_small_pictures_are_left_alone_and_big_ones_fit_the_budget():
    small = [_v(f"a/op{t}", t) for t in range(20)]
    assert condense(small, budget=300).boxes is None
    big = [_v(f"layer{t % 7}/sub/op_{t}", t) for t in range(2000)]
    plan = condense(big, budget=50)
    boxes = set(plan.boxes)
    loose = [v for v in plan.vertices if not any(v.scope.startswith(b) for b in boxes)]
    assert len(boxes) + len(loose) <= 50
    assert "too many to draw one by one" in plan.note


def test_an_unrolled_rnn_is_drawn_condensed_with_the_middle_steps_in_one_box(
    tmp_path, require_program
):
    require_program("dot")
    xs = [sg.Placeholder((None, 3), name=f"x{t}") for t in range(40)]
    _, h = sg.nn.unroll(sg.nn.RNNCell(3, 4), xs)
    loss = sg.mean(h * h, name="loss")
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    steps = sg.explain([loss, train], feeds={x: np.zeros((2, 3), "float32") for x in xs})
    assert len(steps["gradients"].ir) > 300
    root = Tree(explorer.page(steps)).root
    section = _section(root, "gradients")
    nodes = [
        g for g in section.find("div", "after")[0].find("g", "node") if "legend" not in g.classes
    ]
    assert len(nodes) < 300
    text = section.find("figure")[0].all_text()
    assert "step_2…37" in text and "too many to draw one by one" in text
    # the box stands for all it holds, and is marked as added
    box = next(
        g
        for g in nodes
        if "step_2…37" in g.all_text() and "gradients" in g.find("title")[0].all_text()
    )
    assert "mark-added" in box.classes


def test_without_graphviz_the_page_is_refused_with_install_advice(mlp_page, tmp_path, monkeypatch):
    steps, _, _ = mlp_page
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(sg.RenderError, match="dot") as error:
        steps.save_html(tmp_path / "page.html")
    assert "graphviz" in str(error.value).lower()
    assert not (tmp_path / "page.html").exists()


def test_long_listings_show_their_changed_lines_in_context(monkeypatch, mlp_page):
    steps, _, _ = mlp_page
    monkeypatch.setattr(explorer, "MAX_LISTING", 12)
    monkeypatch.setattr(explorer, "HEAD", 3)
    root = Tree(explorer.page(steps)).root
    for section in root.find("section", "step"):
        step = steps[int(section.attrs["data-i"])]
        lines = step.listing.split("\n")
        listing = section.find("div", "listing")[0]
        shown = listing.find("span", "line")
        texts = [e.all_text() for e in shown]
        assert 0 < len(shown) <= 12
        if len(lines) > 12:
            assert listing.find("span", "fold")  # the rest is folded, and says how much
        marked = [q for q, e in enumerate(shown) if "data-mark" in e.attrs]
        if not marked:  # nothing marked (the first step): its beginning
            assert texts == lines[: len(texts)]
            continue
        assert texts[:3] == lines[:3]  # the head, then each changed line with its context
        cut = len(shown) - explorer.CONTEXT if len(shown) == 12 else len(shown)  # at the cap
        for q in range(3, cut):
            if texts[q] != lines[-1]:
                assert any(abs(q - m) <= explorer.CONTEXT for m in marked), (step.name, q)
