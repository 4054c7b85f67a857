"""Jupyter display: a Node, Graph or Program shown as the last line of a cell draws itself.

`attach()` gives the three classes a `_repr_svg_` method, which IPython and
VS Code call to show an object inline. A big graph is collapsed by scope
automatically (`collapse="auto"`). Without Graphviz's `dot` it returns None,
and Jupyter falls back to the object's text repr.
"""

from __future__ import annotations

from symgraph.errors import RenderError


def _repr_svg_(self):
    from symgraph.viz.layout import svg

    try:
        return svg(self, collapse="auto")
    except RenderError:
        return None


def attach() -> None:
    """Give Node, Graph and Program their `_repr_svg_` (called once, from symgraph/__init__.py)."""
    from symgraph.compiler.program import Program
    from symgraph.graph import Graph, Node

    for cls in (Node, Graph, Program):
        cls._repr_svg_ = _repr_svg_
