"""to_dot: draw a graph, a gradient graph, a Program or a compiler step as DOT text.

The steps, each small:
  1. turn the target into vertex records (records.py);
  2. mark highlights and attach values (from a Session run, or given);
  3. collapse scopes into boxes (collapse.py) and refuse pictures too big to read;
  4. lay out clusters for name scopes, nodes styled by kind and origin (styles.py),
     edges from each input to its consumer, and a legend.

The DOT is built with the `graphviz` package and needs no system program.
Output is deterministic: everything is walked in creation (or listing)
order, and DOT ids are generated (n0, n1, ... and cluster_0, ...) instead
of being taken from names or Python ids.
"""

from __future__ import annotations

import dataclasses

import graphviz

from symgraph.errors import RenderError
from symgraph.viz import styles
from symgraph.viz.collapse import Box, gradient_patterns, group
from symgraph.viz.labels import html_label, shape_text, summary_text, value_text
from symgraph.viz.records import Vertex, vertices_of
from symgraph.viz.values import run_values

#: pictures with more things in them than this refuse to draw unless something is collapsed
MAX_NODES = 2000
#: a Placeholder or Variable read by more items than this is drawn again next to each reader
MAX_FANOUT = 8
#: pictures with more items than this get dot's faster, coarser layout (styles.BIG_GRAPH_ATTRS)
BIG_PICTURE = 400

_RANKDIRS = ("TB", "LR", "BT", "RL")
_SHAPES = (None, "node", "edge")


@dataclasses.dataclass(frozen=True)
class Options:
    """Every option of to_dot and render, with its default."""

    names: bool = False  # also show each op's node name (relative to its cluster)
    shapes: str | None = None  # None, "node" (a line in each node) or "edge" (on edges)
    dtypes: bool = False  # show dtypes too
    scopes: bool | int = True  # name scopes as clusters: True, False, or the deepest level
    collapse: object = None  # a depth, a list of scope names ("rnn/step_*"), or "auto"
    grad_links: bool = False  # dashed lines from gradients to the forward Node differentiated
    legend: bool = True
    rankdir: str = "TB"  # "TB" top to bottom, "LR" left to right
    title: str | None = None
    session: object = None  # run the drawn Nodes in this Session and show their values...
    feed_dict: dict | None = None  # ...with these feeds; no Variable or random stream changes
    values: dict | None = None  # {Node: array} to show instead of running a Session
    highlight: dict | None = None  # {key: "added" | "removed" | ...}: marked vertices
    labels: dict | None = None  # {key: text}: names chosen for a figure ("dW1")
    copy_leaves: bool = True  # leaves read far away are drawn again (dashed) near readers
    max_nodes: int | None = MAX_NODES  # more refuses with advice to collapse; None: no limit

    def __post_init__(self):
        if self.shapes not in _SHAPES:
            raise RenderError(f"shapes={self.shapes!r}: use None, 'node' or 'edge'")
        if self.rankdir not in _RANKDIRS:
            raise RenderError(f"rankdir={self.rankdir!r}: use one of {', '.join(_RANKDIRS)}")


def to_dot(target, **options) -> str:
    """The DOT text of a picture of `target`; no Graphviz program is needed.

    target: a Node (drawn with everything it depends on), a list of Nodes, a Graph,
    a Program from sg.compile, or a compiler IR. Options (see `Options`):

        names=True               each op's node name under the op
        shapes="node" / "edge"   shapes in the nodes or on the edges (dtypes=True adds dtypes)
        scopes=False / 1         no clusters, or clusters one level deep
        collapse=["rnn/step_*"]  scopes drawn as single boxes (or a depth, or "auto")
        grad_links=True          dashed lines from gradients to what they differentiate
        session=sess, feed_dict  values of a run (shape and summary); the Session's Variables
                                 and random streams are left as they were
        highlight={key: "added"} marked vertices (key: the Node, a Program slot, an IR key)
        labels={node: "dW1"}     names chosen for a figure
        legend, rankdir="LR", title, copy_leaves, max_nodes
    """
    return build(vertices_of(target), **options).source


def build(vertices: list[Vertex], **options) -> graphviz.Digraph:
    """The picture of these vertex records as a graphviz.Digraph (to_dot's options)."""
    try:
        opts = Options(**options)
    except TypeError as e:
        known = ", ".join(f.name for f in dataclasses.fields(Options))
        message = str(e).replace("Options.__init__()", "to_dot()").replace("__init__()", "to_dot()")
        raise RenderError(message, hint=f"the options are {known}") from None
    return _Builder(vertices, opts).digraph()


class _Builder:
    """Turns vertex records and Options into one graphviz.Digraph."""

    def __init__(self, vertices, opts: Options):
        self.names, self.shapes, self.dtypes = opts.names, opts.shapes, opts.dtypes
        self.scope_depth = _scope_depth(opts.scopes)
        self.grad_links, self.legend = opts.grad_links, opts.legend
        self.rankdir, self.title = opts.rankdir, opts.title
        self.labels = dict(opts.labels or {})
        self.copy_leaves = opts.copy_leaves
        vertices = _marked(vertices, opts.highlight)
        vertices = _with_values(vertices, opts.session, opts.feed_dict, opts.values)
        self.items, self.owner = group(vertices, opts.collapse, opts.max_nodes)
        if opts.max_nodes is not None and len(self.items) > opts.max_nodes:
            raise _too_big(vertices, len(self.items), opts.max_nodes, opts.collapse)

    # -- the picture ---------------------------------------------------------------
    def digraph(self) -> graphviz.Digraph:
        graph_attrs = dict(styles.GRAPH_ATTRS, rankdir=self.rankdir)
        if len(self.items) > BIG_PICTURE:
            graph_attrs.update(styles.BIG_GRAPH_ATTRS)
        if self.title:
            graph_attrs.update(label=html_label([(self.title, "title")]), labelloc="t")
        dot = graphviz.Digraph(
            "symgraph",
            graph_attr=graph_attrs,
            node_attr=styles.NODE_ATTRS,
            edge_attr=styles.EDGE_ATTRS,
        )
        self._clusters = self._cluster_tree()
        edges, self._copies = self._plan_edges()
        self._add_nodes(dot)
        for tail, head, attrs in edges:
            dot.edge(tail, head, **attrs)
        if self.grad_links:
            self._add_grad_links(dot)
        if self.legend:
            self._add_legend(dot)
        return dot

    def _cluster_of(self, item) -> str:
        """The scope path of the innermost cluster `item` is drawn in ('' = top level)."""
        scope = item.scope
        if not scope or self.scope_depth == 0:
            return ""
        if self.scope_depth is None:
            return scope
        return "/".join(scope.split("/")[: self.scope_depth])

    def _cluster_tree(self):
        """Cluster paths in first-use order, each with its items and child clusters."""
        members: dict[str, list[int]] = {"": []}
        children: dict[str, list[str]] = {"": []}
        for i, item in enumerate(self.items):
            path = self._cluster_of(item)
            if path not in members:
                # Open this cluster and every enclosing one not yet open.
                chain = []
                p = path
                while p not in members:
                    chain.append(p)
                    p = p.rpartition("/")[0] if "/" in p else ""
                for q in reversed(chain):
                    parent = q.rpartition("/")[0] if "/" in q else ""
                    members[q], children[q] = [], []
                    children[parent].append(q)
            members[path].append(i)
        return members, children

    def _add_nodes(self, dot) -> None:
        members, children = self._clusters
        cluster_id = {path: f"cluster_{k}" for k, path in enumerate(p for p in members if p)}
        # Build clusters deepest first, so each is complete before its parent copies it in
        # (graphviz.Digraph.subgraph copies the body). No recursion over the nesting depth.
        graphs = {"": dot}
        for path in members:
            if path:
                parent = path.rpartition("/")[0] if "/" in path else ""
                label = path[len(parent) + 1 :] if parent else path
                graphs[path] = graphviz.Digraph(
                    cluster_id[path],
                    graph_attr=dict(styles.CLUSTER_ATTRS, label=html_label([(label, "")])),
                )
        for path, indices in members.items():
            for i in indices:
                self._add_node(graphs[path], i, path)
            for copy, original in self._copies.get(path, ()):
                self._add_node(graphs[path], original, path, node_id=copy)
        order = sorted((p for p in members if p), key=lambda p: -p.count("/"))  # deepest first
        for path in order:
            for child in children[path]:
                graphs[path].subgraph(graphs[child])
        for child in children[""]:
            dot.subgraph(graphs[child])

    def _add_node(self, g, i: int, cluster: str, node_id: str | None = None) -> None:
        """Item i as a DOT node in `g`; with `node_id`, as a dashed copy of it."""
        item = self.items[i]
        if isinstance(item, Box):
            lines = [(_relative(item.name, cluster), "b"), (_count(item.members), "small")]
            attrs = styles.node_attrs("box", item.origin, item.highlight, item.fetched)
            if node_id is None:
                attrs["group"] = item.origin  # a chain of steps is drawn straight
        else:
            lines = self._lines(item, cluster)
            attrs = styles.node_attrs(item.kind, item.origin, item.highlight, item.fetched)
            if item.kind == "op" and node_id is None:
                attrs["group"] = item.origin
        if node_id is not None:
            attrs["style"] = attrs["style"] + ",dashed"
            attrs.pop("peripheries", None)
        g.node(node_id or f"n{i}", label=html_label(lines), **attrs)

    def _lines(self, v: Vertex, cluster: str):
        name = _relative(v.name, cluster)
        if v.key in self.labels:
            lines = [(self.labels[v.key], "b"), (v.op if v.kind == "op" else name, "small")]
        elif v.kind == "op" and _chosen_name(v):
            # A name the user chose ("loss", "logits") says more than the op: show both.
            lines = [(name if self.names else _chosen_name(v), "b"), (v.op, "small")]
        elif v.kind == "op":
            lines = [(v.op, "")]
            if self.names:
                lines.append((name, "small"))
        elif v.kind == "constant" and v.value is not None:
            lines = [(value_text(v.value), "")]
            if self.names:
                lines.append((name, "small"))
        else:
            lines = [(name, "")]
        if self.shapes == "node" or (self.dtypes and self.shapes is None):
            text = shape_text(v.shape if self.shapes else None, v.dtype if self.dtypes else None)
            if text:
                lines.append((text, "small"))
        if v.note:
            lines.append((v.note, "small"))
        return lines

    def _plan_edges(self):
        """Every edge (tail id, head id, attrs), in order, and the leaf copies they need.

        An edge runs from each input to its consumer; a scope box gets one edge per
        neighbour, however many values cross. With `copy_leaves`, a Placeholder or
        Variable is drawn again (dashed) instead of with a long edge:
          - next to the gradient or update Nodes that read it (once per cluster), so
            no edge runs back across the whole picture;
          - next to each of its readers when it has more than MAX_FANOUT of them (the
            weights an unrolled RNN shares between its steps): long edges fanning out
            of one node are what makes dot slow, and they read as a blur anyway.
        """
        links, box_links, pairs = [], set(), []
        for i, item in enumerate(self.items):
            for v in item.members if isinstance(item, Box) else [item]:
                for key in v.inputs:
                    src = self.owner.get(key)
                    if src is None or src == i:
                        continue
                    if isinstance(item, Box) or isinstance(self.items[src], Box):
                        if (src, i) in box_links:
                            continue
                        box_links.add((src, i))
                    links.append((src, i, key))
                    pairs.append((src, i))
        readers: dict[int, int] = {}  # item index -> how many items of its origin read it
        sources: dict[int, int] = {}  # item index -> how many items it reads
        for src, i in dict.fromkeys(pairs):
            if self.items[src].origin == self.items[i].origin:
                readers[src] = readers.get(src, 0) + 1
            sources[i] = sources.get(i, 0) + 1

        edges, copies, copy_id = [], {}, {}

        def copy_of(original: int, where, cluster: str) -> str:
            if where not in copy_id:
                copy_id[where] = f"c{len(copy_id)}"
                copies.setdefault(cluster, []).append((copy_id[where], original))
            return copy_id[where]

        for src, i, key in links:
            source, item = self.items[src], self.items[i]
            tail, head = f"n{src}", f"n{i}"
            where = self._copy_place(source, item, src, i, readers.get(src, 0))
            if where is not None:
                tail = copy_of(src, where, self._cluster_of(item))
            elif self.copy_leaves and sources[i] > MAX_FANOUT:
                # A Node gathering many inputs (an optimizer's group of updates) is drawn
                # again next to each of them, for the same reason.
                head = copy_of(i, (i, "reader of", src), self._cluster_of(source))
            attrs = styles.edge_attrs(item.origin)
            if source.origin == item.origin:
                attrs["weight"] = "2"  # keep each pass (forward, backward) straight
            if self.shapes == "edge":
                text = self._edge_text(source, key)
                if text:
                    attrs["label"] = html_label([(text, "")])
            if source.origin == item.origin == "gradient":
                # Lay the backward pass out against the forward one, as textbooks draw
                # backprop: the edge is declared reversed, and its arrow drawn back.
                attrs["dir"] = "back"
                edges.append((head, tail, attrs))
            else:
                edges.append((tail, head, attrs))
        return edges, copies

    def _copy_place(self, source, item, src: int, i: int, readers: int):
        """Where a copy of `source` stands in for it next to `item`, or None: no copy."""
        if not self.copy_leaves or isinstance(source, Box):
            return None
        if source.kind not in ("placeholder", "variable"):
            return None
        if item.origin != source.origin:
            return (src, "cluster", self._cluster_of(item))
        if readers > MAX_FANOUT:
            return (src, "item", i)
        return None

    def _edge_text(self, source, key) -> str:
        if isinstance(source, Box):
            v = next((m for m in source.members if m.key == key), None)
        else:
            v = source
        if v is None:
            return ""
        return shape_text(v.shape, v.dtype if self.dtypes else None)

    def _add_grad_links(self, dot) -> None:
        """One dashed line per forward item: from the last gradient item built for it."""
        last = {}  # forward item index -> gradient item index
        for i, item in enumerate(self.items):
            for v in item.members if isinstance(item, Box) else [item]:
                if v.grad_of is None or v.origin != "gradient":
                    continue
                target = self.owner.get(v.grad_of)
                if target is not None and target != i:
                    last[target] = i
        for target in sorted(last):
            dot.edge(f"n{last[target]}", f"n{target}", **styles.GRAD_LINK_ATTRS)

    def _add_legend(self, dot) -> None:
        kinds, origins = [], []
        if any(item.fetched for item in self.items):
            kinds.append("fetched")
        for item in self.items:
            kind = "box" if isinstance(item, Box) else item.kind
            if kind not in kinds:
                kinds.append(kind)
            if item.origin not in origins:
                origins.append(item.origin)
        if self._copies:
            kinds.append("copy")
        marks = []
        for item in self.items:
            if item.highlight and item.highlight not in marks:
                marks.append(item.highlight)
        entries = styles.legend_entries(kinds, origins, self.grad_links, marks)
        if len(entries) < 2:
            return
        with dot.subgraph(
            name="cluster_legend",
            graph_attr=dict(styles.CLUSTER_ATTRS, label=html_label([("legend", "")])),
        ) as g:
            for suffix, text, attrs in entries:
                attrs = dict(attrs, **styles.LEGEND_NODE_ATTRS)
                g.node(f"legend_{suffix}", label=html_label([(text, "")]), **attrs)
            # One row across the flow (one rank), kept in this order by invisible edges.
            ids = [f"legend_{suffix}" for suffix, _, _ in entries]
            _same_rank(g, ids)
            # Left to right, dot stacks a rank's flat edges bottom-up: chain them backwards.
            chain = ids[::-1] if self.rankdir == "LR" else ids
            for a, b in zip(chain, chain[1:]):
                g.edge(a, b, style="invis")
            if self.grad_links and "legend_gradient" in ids and "legend_forward" in ids:
                g.edge(
                    "legend_gradient",
                    "legend_forward",
                    label=html_label([("gradient of", "")]),
                    **styles.GRAD_LINK_ATTRS,
                )


# -- helpers ---------------------------------------------------------------------------
def _same_rank(g, ids) -> None:
    if len(ids) > 1:
        g.body.append("\t{rank=same; " + "; ".join(ids) + "}\n")


def _scope_depth(scopes):
    if scopes is True:
        return None
    if scopes is False or scopes is None:
        return 0
    if isinstance(scopes, int) and scopes >= 0:
        return scopes
    raise RenderError(f"scopes={scopes!r}: use True, False or a depth (0, 1, 2, ...)")


def _chosen_name(v: Vertex) -> str | None:
    """The last part of an op's name when someone chose it: 'loss' for 'loss' (a mean),
    None for 'dense/matmul_2' (the op's own name, made unique)."""
    last = v.name.rpartition("/")[2]
    base = last.rstrip("0123456789")
    base = base[:-1] if base.endswith("_") and base != last else last
    return None if base == v.op else last


def _relative(name: str, cluster: str) -> str:
    if cluster and name.startswith(cluster + "/"):
        return name[len(cluster) + 1 :]
    return name


def _count(members) -> str:
    """'5 ops, 1 placeholder': what a collapsed box stands for."""
    counts = {}
    for m in members:
        counts[m.kind] = counts.get(m.kind, 0) + 1
    parts = []
    for kind in ("op", "placeholder", "variable", "constant"):
        n = counts.get(kind, 0)
        if n:
            parts.append(f"{n} {kind}" + ("" if n == 1 else "s"))
    return ", ".join(parts)


def _marked(vertices, highlight):
    if not highlight:
        return vertices
    marks = dict(highlight)
    return [
        dataclasses.replace(v, highlight=marks[v.key]) if v.key in marks else v for v in vertices
    ]


def _with_values(vertices, session, feed_dict, values):
    if session is None and values is None:
        return vertices
    found = dict(values or {})
    if session is not None:
        nodes = [v.node for v in vertices if v.node is not None]
        found.update(run_values(session, nodes, feed_dict))
    fed = set(feed_dict or {})
    out = []
    for v in vertices:
        note = v.note
        if v.node is not None and v.node in found:
            text = summary_text(found[v.node])
        elif v.key in found:
            text = summary_text(found[v.key])
        elif v.kind == "placeholder" and session is not None and v.node not in fed and (
            getattr(v.node, "default", None) is None  # one with a default has its value
        ):
            text = "not fed"
        else:
            text = None
        if text is not None:
            note = text if not note else f"{note}  {text}"
        out.append(dataclasses.replace(v, note=note) if note != v.note else v)
    return out


def _by_name_hint(vertices, collapse) -> str:
    """The advice to collapse scopes by name; when names were just tried, not the same
    names again, but those with their gradient scopes (or broader ones)."""
    if not isinstance(collapse, (list, tuple)) or not collapse:
        return "collapse=['rnn/step_*'] (scopes by name)"
    patterns = [str(p) for p in collapse]
    grads = gradient_patterns(vertices, patterns)
    if grads:
        return (
            f"collapse={patterns + grads!r} (the gradients of those scopes are built in "
            "scopes of their own, under 'gradients/')"
        )
    return f"scope names that match more than {patterns!r}"


def _too_big(vertices, count, max_nodes, collapse) -> RenderError:
    tops: dict[str, int] = {}
    unscoped = []
    for v in vertices:
        if v.scope:
            top = v.scope.split("/")[0]
            tops[top] = tops.get(top, 0) + 1
        else:
            unscoped.append(v)
    biggest = sorted(tops, key=lambda s: -tops[s])[:3]
    examples = ", ".join(f"'{s}' ({tops[s]} nodes)" for s in biggest)
    hint = "draw scopes as boxes: collapse=2 (every scope two levels deep), "
    hint += _by_name_hint(vertices, collapse)
    hint += "" if collapse == "auto" else ", or collapse='auto'"
    if examples:
        hint += f"; the biggest scopes are {examples}"
    if len(unscoped) > max_nodes // 2:
        # no collapse can box a Node that is in no scope (sg.unstack's slices, say)
        hint += (
            f"; {len(unscoped):,} nodes are in no scope (such as '{unscoped[0].name}'), and no "
            "collapse can box those: build them inside `with sg.name_scope(\"...\"):`"
        )
    hint += "; or pass max_nodes=None to draw it all anyway"
    what = "even collapsed, " if collapse else ""
    return RenderError(
        f"{what}this picture would have {count:,} nodes, more than max_nodes={max_nodes:,}, "
        "too many to read",
        hint=hint,
    )
