"""Jupyter display: a Node, Graph or Program shown as the last line of a cell draws itself.

`attach()` gives the three classes a `_repr_svg_` method, which IPython and
VS Code call to show an object inline. A big graph is collapsed by scope
automatically (`collapse="auto"`). Without Graphviz's `dot` it returns None,
and Jupyter falls back to the object's text repr. A graph too big to draw even
collapsed shows a small note instead, with the advice of the error, since a None
there would leave the reader with a text repr and no word of why.
"""

from __future__ import annotations

import textwrap

from symgraph.errors import RenderError


def picture(target, **options):
    """The SVG Jupyter shows for `target` (collapsed when big); a note when it cannot
    be drawn; None without `dot`, so that Jupyter shows the text repr."""
    from symgraph.viz.layout import find_dot, svg

    try:
        find_dot()
    except RenderError:
        return None
    try:
        return svg(target, collapse="auto", **options)
    except RenderError as e:
        return note_svg(str(e))


def note_svg(text: str) -> str:
    """A small SVG that shows `text` (a RenderError's message and hint), wrapped."""
    from symgraph.viz.labels import html_text

    lines = []
    for paragraph in text.splitlines():
        lines.extend(textwrap.wrap(paragraph, 90) or [""])
    height = 16 * len(lines) + 12
    rows = "".join(
        f'<text x="8" y="{20 + 16 * i}">{html_text(line)}</text>' for i, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="660" height="{height}" '
        'font-family="Helvetica,Arial,sans-serif" font-size="12" fill="#1A1A1A">'
        f'<rect width="100%" height="100%" fill="#FFF8E5" stroke="#E69F00"/>{rows}</svg>'
    )


def _repr_svg_(self):
    return picture(self)


def attach() -> None:
    """Give Node, Graph and Program their `_repr_svg_` (called once, from symgraph/__init__.py)."""
    from symgraph.compiler.program import Program
    from symgraph.graph import Graph, Node

    for cls in (Node, Graph, Program):
        cls._repr_svg_ = _repr_svg_
