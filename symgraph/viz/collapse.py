"""Collapsing: draw a whole name scope as one box, so a big graph stays readable.

`collapse=` is either
  - a depth `d`: every scope `d` levels deep (`rnn/step_3` is 2 deep) becomes one box;
  - a list of scope names, where `*` and `?` are wildcards (`"rnn/step_*"`); a Node is
    put in the box of the outermost of its scopes that matches. Gradients are built in
    scopes of their own (`gradients/rnn/step_3`): `"gradients/rnn/step_*"` boxes those;
  - `"auto"`: the deepest depth whose picture has at most AUTO_NODES (500) things in it.

The result is a list of items in creation order (the first member of a box
decides where the box goes), each a Vertex or a Box, and for every vertex
key the index of the item that draws it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from symgraph.errors import RenderError
from symgraph.graph import user_stacklevel
from symgraph.viz.records import ORIGINS, Vertex


@dataclass
class Box:
    """A collapsed scope: drawn as one node standing for all its members."""

    name: str  # the scope collapsed, 'rnn/step_3'
    members: list[Vertex] = field(default_factory=list)
    kind = "box"
    _origin: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def scope(self) -> str:
        return self.name.rpartition("/")[0]

    @property
    def origin(self) -> str:
        """The origin most members have (ties: forward, then gradient, then update)."""
        # Asked once per edge: count once (and again only if members were added since).
        if self._origin is None or self._origin[0] != len(self.members):
            counts = {o: 0 for o in ORIGINS}
            for m in self.members:
                counts[m.origin] = counts.get(m.origin, 0) + 1
            self._origin = (len(self.members), max(counts, key=lambda o: counts[o]))
        return self._origin[1]

    @property
    def highlight(self) -> str | None:
        return next((m.highlight for m in self.members if m.highlight), None)

    @property
    def fetched(self) -> bool:
        return any(m.fetched for m in self.members)


def _prefixes(scope: str):
    """'a/b/c' -> 'a', 'a/b', 'a/b/c' (outermost first)."""
    start = 0
    while True:
        i = scope.find("/", start)
        if i < 0:
            yield scope
            return
        yield scope[:i]
        start = i + 1


def _box_by_depth(depth: int):
    def box_name(scope: str):
        if not scope:
            return None
        parts = scope.split("/")
        return "/".join(parts[:depth]) if len(parts) >= depth else None

    return box_name


def _box_by_patterns(patterns: list[str], scopes=()):
    # Every pattern is first tried as the exact scope name, so that a scope literally
    # named "layer[0]" is collapsed by "layer[0]" (as a wildcard, [0] means "0"); a set
    # keeps hundreds of names fast. Only patterns with wildcards go to fnmatch, and not
    # those that are the name of one of the `scopes` (else "layer[0]" would box "layer0" too).
    exact = set(patterns)
    wild = [p for p in patterns if any(c in p for c in "*?[") and p not in scopes]

    def box_name(scope: str):
        if not scope:
            return None
        for prefix in _prefixes(scope):
            if prefix in exact or any(fnmatchcase(prefix, p) for p in wild):
                return prefix
        return None

    return box_name


def gradient_patterns(vertices: list[Vertex], patterns: list[str]) -> list[str]:
    """'gradients/P' for each pattern P whose gradient scopes are drawn but not collapsed.

    sg.gradients builds the backward pass of 'rnn/step_3' in 'gradients/rnn/step_3',
    as TF1 does (TensorBoard shows it under 'gradients' too): 'rnn/step_*' does not
    match it, so a picture too big with that pattern needs 'gradients/rnn/step_*' too.
    """
    scopes = dict.fromkeys(v.scope for v in vertices if v.scope.startswith("gradients/"))
    found = []
    for p in patterns:
        grad = f"gradients/{p}"
        if grad not in patterns and any(_box_by_patterns([grad])(s) for s in scopes):
            found.append(grad)
    return found


def _warn_of_unmatched(patterns: list[str], scopes: set) -> None:
    """Say which patterns box nothing: a typo would otherwise give a picture with
    nothing collapsed and no word why."""
    unmatched = [p for p in patterns if not any(_box_by_patterns([p], scopes)(s) for s in scopes)]
    if unmatched:
        tops = sorted({s.split("/")[0] for s in scopes})
        shown = ", ".join(tops[:8]) + (", ..." if len(tops) > 8 else "")
        warnings.warn(
            f"collapse: {', '.join(repr(p) for p in unmatched)} matched no scope of this graph "
            f"(its outermost scopes: {shown or 'none'})",
            stacklevel=user_stacklevel(),
        )



def count_items(vertices: list[Vertex], depth: int) -> int:
    """How many things a picture collapsed at `depth` would draw."""
    box_name = _box_by_depth(depth)
    boxes, loose = set(), 0
    for v in vertices:
        name = box_name(v.scope)
        if name is None:
            loose += 1
        else:
            boxes.add(name)
    return loose + len(boxes)


def auto_depth(vertices: list[Vertex], max_nodes: int) -> int | None:
    """The deepest collapse depth that draws at most max_nodes things; None if no collapse is needed."""
    if len(vertices) <= max_nodes:
        return None
    deepest = max((v.scope.count("/") + 1 for v in vertices if v.scope), default=0)
    for depth in range(deepest, 0, -1):
        if count_items(vertices, depth) <= max_nodes:
            return depth
    return 1


#: collapse="auto" aims at pictures of at most this many things: they lay out in seconds
AUTO_NODES = 500


def group(vertices: list[Vertex], collapse, max_nodes: int | None):
    """Items to draw (Vertex or Box, in order) and, for each vertex key, its item's index."""
    if collapse == "auto":
        collapse = auto_depth(vertices, min(max_nodes or AUTO_NODES, AUTO_NODES))
    if collapse is None or collapse is False or collapse == []:
        return list(vertices), {v.key: i for i, v in enumerate(vertices)}
    if isinstance(collapse, bool) or not isinstance(collapse, (int, list, tuple, str)):
        raise RenderError(
            f"collapse={collapse!r} is not understood",
            hint="pass a depth (collapse=2), a list of scope names (collapse=['rnn/step_*']), "
            "or collapse='auto'",
        )
    if isinstance(collapse, int):
        if collapse < 1:
            raise RenderError(f"collapse depth must be 1 or more, got {collapse}")
        box_name = _box_by_depth(collapse)
    else:
        # A trailing "/" is dropped ("rnn/" is the scope "rnn"); a leading one is kept:
        # name_scope("/lead") makes a scope named "/lead".
        names = [collapse] if isinstance(collapse, str) else collapse
        patterns = [str(p).rstrip("/") or str(p) for p in names]
        scopes = {prefix for v in vertices if v.scope for prefix in _prefixes(v.scope)}
        box_name = _box_by_patterns(patterns, scopes)
        _warn_of_unmatched(patterns, scopes)

    items: list = []
    owner: dict = {}
    box_index: dict[str, int] = {}
    for v in vertices:
        name = box_name(v.scope)
        if name is None:
            owner[v.key] = len(items)
            items.append(v)
            continue
        i = box_index.get(name)
        if i is None:
            i = box_index[name] = len(items)
            items.append(Box(name))
        items[i].members.append(v)
        owner[v.key] = i
    return items, owner
