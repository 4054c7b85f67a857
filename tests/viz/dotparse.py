"""A small reader for the DOT that symgraph writes, so tests check structure, not strings.

`parse(text)` returns a Dot with its nodes (id -> attrs), edges (tail, head, attrs) in
the direction the arrow is drawn (an edge written reversed with dir=back is turned
back), clusters (id -> Cluster: label, parent, node ids), and a label's visible text.
It reads one statement a line, as the graphviz package writes them, and it tokenizes
attribute values properly ("quoted", <html>, bare), so a hostile name inside a label
cannot fool it any more than it could fool Graphviz.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_ID = r'(?:"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*)'
_NODE = re.compile(rf"^\s*({_ID}) \[(.*)\]$")
_EDGE = re.compile(rf"^\s*({_ID}) -> ({_ID})(?: \[(.*)\])?$")
_SUBGRAPH = re.compile(rf"^\s*subgraph ({_ID}) {{$")
_GRAPH_ATTRS = re.compile(r"^\s*graph \[(.*)\]$")


@dataclass
class Cluster:
    id: str
    parent: str | None
    attrs: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return text_of(self.attrs.get("label", ""))


@dataclass
class Dot:
    graph_attrs: dict
    nodes: dict  # id -> attrs, in order
    edges: list  # (tail, head, attrs), as drawn
    clusters: dict  # id -> Cluster
    node_cluster: dict  # node id -> innermost cluster id (None: top level)

    def label(self, node_id) -> str:
        return text_of(self.nodes[node_id].get("label", ""))

    def ids_labelled(self, text) -> list:
        """Ids of nodes (not legend samples) whose visible label starts with `text`."""
        return [
            n
            for n in self.nodes
            if not n.startswith("legend_") and self.label(n).split("\n")[0] == text
        ]

    def one(self, text) -> str:
        found = self.ids_labelled(text)
        assert len(found) == 1, f"expected one node labelled {text!r}, found {found}"
        return found[0]

    def real_edges(self):
        return [e for e in self.edges if e[2].get("style") != "invis"]

    def model_nodes(self):
        return [n for n in self.nodes if not n.startswith("legend_")]

    def cluster_path(self, node_id) -> list:
        """Labels of the clusters around a node, outermost first."""
        path, c = [], self.node_cluster.get(node_id)
        while c is not None:
            path.append(self.clusters[c].label)
            c = self.clusters[c].parent
        return path[::-1]


def _attrs(text: str) -> dict:
    """key=value pairs; values "quoted" (with \\ escapes), <html> (balanced), or bare."""
    attrs, i, n = {}, 0, len(text or "")
    while i < n:
        while i < n and text[i] in " ,;":
            i += 1
        if i >= n:
            break
        eq = text.index("=", i)
        key = text[i:eq]
        i = eq + 1
        if text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            attrs[key] = text[i + 1 : j]
            i = j + 1
        elif text[i] == "<":
            depth, j = 0, i
            while True:
                if text[j] == "<":
                    depth += 1
                elif text[j] == ">":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            attrs[key] = text[i : j + 1]
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in " ,;":
                j += 1
            attrs[key] = text[i:j]
            i = j
    return attrs


def text_of(label: str) -> str:
    """The visible text of an HTML-like label: tags dropped, <BR/> as newline, entities decoded."""
    if label.startswith("<") and label.endswith(">"):
        body = label[1:-1].replace("<BR/>", "\n")
        return html.unescape(re.sub(r"<[^>]*>", "", body))
    return label


def _unquote(ident: str) -> str:
    return ident[1:-1] if ident.startswith('"') else ident


def parse(text: str) -> Dot:
    lines = text.splitlines()
    assert lines[0].startswith("digraph") and lines[-1] == "}", "not a whole digraph"
    graph_attrs, nodes, edges, clusters, node_cluster = {}, {}, [], {}, {}
    stack: list[str] = []
    for line in lines[1:-1]:
        s = line.strip()
        if m := _SUBGRAPH.match(line):
            cid = _unquote(m.group(1))
            clusters[cid] = Cluster(cid, stack[-1] if stack else None)
            stack.append(cid)
        elif s == "}":
            stack.pop()
        elif m := _GRAPH_ATTRS.match(line):
            (clusters[stack[-1]].attrs if stack else graph_attrs).update(_attrs(m.group(1)))
        elif s.startswith(("node [", "edge [", "{rank=same")):
            continue
        elif m := _EDGE.match(line):
            tail, head, attrs = _unquote(m.group(1)), _unquote(m.group(2)), _attrs(m.group(3))
            if attrs.get("dir") == "back":
                tail, head = head, tail
            edges.append((tail, head, attrs))
        elif m := _NODE.match(line):
            nid = _unquote(m.group(1))
            assert nid not in nodes, f"node {nid} declared twice"
            nodes[nid] = _attrs(m.group(2))
            node_cluster[nid] = stack[-1] if stack else None
            if stack:
                clusters[stack[-1]].nodes.append(nid)
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    assert not stack, "unbalanced subgraph braces"
    for tail, head, _ in edges:
        assert tail in nodes and head in nodes, f"edge {tail} -> {head} to an undeclared node"
    return Dot(graph_attrs, nodes, edges, clusters, node_cluster)
