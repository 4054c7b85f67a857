"""How things look: one shape per kind of node, one colour per origin, and the legend.

Kinds (the shape says what a node *is*):
  placeholder  an ellipse: data fed in at run time
  variable     a cylinder: state the Session keeps between runs
  constant     a small dashed box: a value fixed in the graph
  op           a rounded box labelled with the op: a computation
  box          a 3-D box: a whole name scope collapsed into one

Origins (the colour says *who built it*): forward (the user's model, blue),
gradient (autodiff, vermilion) and update (the optimizer, green). The
colours are from the Okabe-Ito palette, which colour-blind readers can tell
apart, and are used as borders over pale fills, so black text stays readable.
"""

from __future__ import annotations

FONT = "Helvetica,Arial,sans-serif"

#: origin -> (strong colour for borders and edges, pale fill)
ORIGIN_COLORS = {
    "forward": ("#0072B2", "#EAF2F9"),
    "gradient": ("#D55E00", "#FCEEE4"),
    "update": ("#009E73", "#E3F4EE"),
}
_UNKNOWN_ORIGIN = ("#666666", "#F2F2F2")

KIND_STYLES = {
    "placeholder": {"shape": "ellipse", "style": "filled"},
    "variable": {"shape": "cylinder", "style": "filled"},
    "constant": {"shape": "box", "style": "dashed,filled", "fontsize": "9", "height": "0.3"},
    "op": {"shape": "box", "style": "rounded,filled"},
    "box": {"shape": "box3d", "style": "filled"},
}

#: what the explorer marks a vertex with, and how it looks (a thick border, or greyed out)
HIGHLIGHT_COLOR = "#E69F00"
HIGHLIGHT_STYLES = {
    "removed": {
        "color": "#999999",
        "fontcolor": "#999999",
        "fillcolor": "#F5F5F5",
        "penwidth": "2",
    },
}
_DEFAULT_HIGHLIGHT = {"color": HIGHLIGHT_COLOR, "penwidth": "3"}

GRAPH_ATTRS = {
    "fontname": FONT,
    "fontsize": "11",
    "nodesep": "0.25",
    "ranksep": "0.3",
    "newrank": "true",
    "compound": "true",
    "bgcolor": "white",
}
#: for big pictures: cap dot's network-simplex passes at one per node (its slow phase),
#: which turns minutes into seconds for 2,000 nodes and changes little on the page
BIG_GRAPH_ATTRS = {"nslimit": "1", "nslimit1": "1"}
NODE_ATTRS = {
    "fontname": FONT,
    "fontsize": "11",
    "height": "0.35",
    "margin": "0.1,0.04",
    "penwidth": "1.2",
    "fontcolor": "#1A1A1A",
}
EDGE_ATTRS = {"fontname": FONT, "fontsize": "8", "arrowsize": "0.6", "penwidth": "0.9"}
CLUSTER_ATTRS = {
    "style": "rounded",
    "color": "#B8B8B8",
    "fontcolor": "#606060",
    "fontsize": "10",
    "labeljust": "l",
    "margin": "8",
}
EDGE_COLORS = {"forward": "#555555", "gradient": "#C2703D", "update": "#3C8F71"}
GRAD_LINK_ATTRS = {
    "style": "dashed",
    "color": "#D55E00",
    "arrowhead": "none",
    "constraint": "false",
    "penwidth": "0.8",
}
FETCHED_ATTRS = {"peripheries": "2"}
LEGEND_NODE_ATTRS = {"fontsize": "9", "height": "0.25", "margin": "0.06,0.02"}


def origin_colors(origin: str) -> tuple[str, str]:
    return ORIGIN_COLORS.get(origin, _UNKNOWN_ORIGIN)


def node_attrs(kind: str, origin: str, highlight=None, fetched=False) -> dict:
    """The DOT attributes of one node, from its kind, origin and markings."""
    line, fill = origin_colors(origin)
    attrs = dict(KIND_STYLES.get(kind, KIND_STYLES["op"]))
    attrs.update(color=line, fillcolor=fill)
    if fetched:
        attrs.update(FETCHED_ATTRS)
    if highlight:
        attrs.update(HIGHLIGHT_STYLES.get(highlight, _DEFAULT_HIGHLIGHT))
    return attrs


def edge_attrs(origin: str) -> dict:
    """Edges take the colour of the node they flow into: gradient flow reads as gradient."""
    return {"color": EDGE_COLORS.get(origin, "#555555")}


_KIND_WORDS = {
    "placeholder": "placeholder",
    "variable": "variable",
    "constant": "constant",
    "op": "op",
    "box": "collapsed scope",
}


def legend_entries(kinds, origins, grad_links: bool, marks=()):
    """(id suffix, label, attrs) of the legend's sample nodes, for what the picture shows."""
    entries = []
    for kind in ("placeholder", "variable", "constant", "op", "box"):
        if kind in kinds:
            entries.append((kind, _KIND_WORDS[kind], node_attrs(kind, "forward")))
    if "fetched" in kinds:
        entries.append(("fetched", "fetched", node_attrs("op", "forward", fetched=True)))
    if "copy" in kinds:
        attrs = node_attrs("variable", "forward")
        attrs["style"] += ",dashed"
        entries.append(("copy", "drawn again", attrs))
    if len(origins) > 1 or grad_links:
        for origin in ("forward", "gradient", "update"):
            if origin in origins:
                attrs = node_attrs("op", origin)
                entries.append((origin, origin, attrs))
    for k, mark in enumerate(marks):
        entries.append((f"mark_{k}", str(mark), node_attrs("op", "forward", highlight=mark)))
    return entries
