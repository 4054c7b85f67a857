"""The explorer page's pictures: planned one by one, laid out by `dot` in parallel.

Each picture is an IR with some vertices marked; big IRs are condensed first
(condense.py). dot's SVG is then made fit to sit inline in the page: no XML
prologue, ids or namespaces; each node's <g> says which item it draws
(data-n, to link it with listing lines) and how it is marked (a class), and
its tooltip says what it is.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from symgraph.viz.collapse import Box
from symgraph.viz.condense import as_patterns, condense
from symgraph.viz.dot import Options, _Builder
from symgraph.viz.labels import html_text
from symgraph.viz.layout import find_dot, layout_attempts
from symgraph.viz.records import vertices_of

#: pictures with more things than this get dot's fast layout (styles.BIG_GRAPH_ATTRS)
FAST_LAYOUT = 120
#: a layout taking longer than this gives up, and the page says so
DOT_SECONDS = 60


@dataclasses.dataclass
class Picture:
    """One picture: its DOT, the items drawn (item i is DOT node n{i}), then its SVG."""

    source: str
    items: list
    owner: dict
    note: str
    svg: str = ""


class Pictures:
    """Every picture of the page: built one by one, laid out by `dot` in parallel."""

    def __init__(self, budget: int):
        # before any work: without Graphviz, say so at once, and what works without it
        self.dot = find_dot(
            instead="or, without it, print(steps) lists the steps, and each step's "
            ".listing and .to_dot() (its DOT text) need nothing"
        )
        self.budget = budget
        self.plans = {}  # id(ir) -> (ir, its condense Plan): each IR is condensed once
        self.pictures: list[Picture] = []
        self.by_source: dict[str, int] = {}

    def add(self, ir, highlight: dict) -> int:
        """Plan the picture of `ir` with `highlight` ({key: mark}); return its index."""
        if id(ir) not in self.plans:
            self.plans[id(ir)] = (ir, condense(vertices_of(ir), self.budget))
        plan = self.plans[id(ir)][1]
        vertices = [
            dataclasses.replace(v, highlight=highlight[v.key]) if v.key in highlight else v
            for v in plan.vertices
        ]
        collapse = as_patterns(plan.boxes) if plan.boxes else None
        builder = _Builder(vertices, Options(collapse=collapse, max_nodes=None))
        digraph = builder.digraph()
        items, owner = builder.items, builder.owner
        if len(items) > FAST_LAYOUT:
            digraph.graph_attr.update(nslimit="1", nslimit1="1")
        source = digraph.source
        if source in self.by_source:  # the same picture (a step that changed nothing)
            return self.by_source[source]
        self.pictures.append(Picture(source, items, owner, plan.note))
        self.by_source[source] = len(self.pictures) - 1
        return len(self.pictures) - 1

    def draw(self) -> None:
        """Lay out every picture, several `dot` processes at a time."""
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
            svgs = list(pool.map(lambda p: _layout(self.dot, p.source), self.pictures))
        for picture, svg in zip(self.pictures, svgs):
            if svg is None:
                svg = '<p class="toobig">This picture took too long to lay out.</p>'
            picture.svg = _inline_svg(svg, picture.items)

    def owner_id(self, index: int, key) -> str | None:
        i = self.pictures[index].owner.get(key)
        return None if i is None else f"n{i}"


def _layout(dot: str, source: str) -> str | None:
    """dot's SVG of `source`; None when it takes too long. Tried as `layout_attempts`
    says (Graphviz 2.43 fails on some pictures with clusters and groups)."""
    for attempt in layout_attempts(source):
        try:
            done = subprocess.run(
                [dot, "-Tsvg"],
                input=attempt.encode("utf-8"),
                capture_output=True,
                timeout=DOT_SECONDS,
                check=True,
            )
        except subprocess.TimeoutExpired:
            return None
        except subprocess.CalledProcessError as e:
            error = e.stderr.decode("utf-8", "replace")
            continue
        return done.stdout.decode("utf-8")
    return f'<p class="toobig">Graphviz failed on this picture: {html_text(error[:300])}</p>'


_NODE = re.compile(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>(.*?)</g>', re.S)
_TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def _inline_svg(svg: str, items: list) -> str:
    """dot's SVG made fit to sit inside the page: no XML prologue, comments, ids or
    namespaces; each node's <g> says which item it draws (data-n) and its mark (class),
    and its tooltip says what it is."""
    start = svg.find("<svg")
    if start < 0:
        return svg
    svg = re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S)

    def node(m):
        dot_id, body = html.unescape(m.group(1)), m.group(2)
        texts = [html.unescape(t) for t in _TEXT.findall(body)]
        classes, tip = ["node"], " ".join(texts)
        if dot_id.startswith("n") and dot_id[1:].isdigit() and int(dot_id[1:]) < len(items):
            item = items[int(dot_id[1:])]
            tip = _tooltip(item)
            if item.highlight:
                classes.append(mark_class(item.highlight))
        elif dot_id.startswith("legend_mark"):
            classes += ["legend", mark_class(" ".join(texts))]
        elif dot_id.startswith("legend"):
            classes.append("legend")
        else:
            classes.append("copy")
            tip += " (drawn again, next to where it is read)"
        return (
            f'<g class="{" ".join(classes)}" data-n="{html.escape(dot_id)}">'
            f"<title>{html_text(tip)}</title>{body}</g>"
        )

    svg = _NODE.sub(node, svg)
    svg = re.sub(
        r'(<g id="[^"]*" class="(?:edge|cluster|graph)"[^>]*>)\s*<title>[^<]*</title>', r"\1", svg
    )
    svg = re.sub(r' id="[^"]*"', "", svg)
    svg = re.sub(r' xmlns(?::\w+)?="[^"]*"', "", svg)
    return svg.strip()


def _tooltip(item) -> str:
    if isinstance(item, Box):
        return f"{item.name}: a scope of {len(item.members):,} vertices, drawn as one box"
    shape = (
        ""
        if item.shape is None
        else " (" + ", ".join("?" if d is None else str(d) for d in item.shape) + ")"
    )
    text = f"{item.name}: {item.op}{shape} {item.dtype or ''}".rstrip()
    if item.origin != "forward":
        text += f", {item.origin}"
    if item.highlight:
        text += f" [{item.highlight}]"
    return text


def mark_class(mark: str) -> str:
    return "mark-" + re.sub(r"[^a-z0-9]+", "-", str(mark).lower()).strip("-")
