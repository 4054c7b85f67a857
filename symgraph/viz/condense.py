"""Big pictures made readable: fold long runs of numbered scopes, then collapse to fit.

An RNN unrolled 1,000 steps has scopes rnn/step_0 ... rnn/step_999, the same
few ops a thousand times. Drawn in full that is tens of thousands of nodes,
which no one can read and Graphviz takes minutes to lay out. `condense`
keeps the first and last steps of such a run as they are and folds the
middle of it into one scope, `rnn/step_2…997`, drawn as one box; then, if
the picture is still too big, it collapses scopes by depth, as deep as fits.

Numbered names at any level fold alike: scopes `rnn/step_N`, `gradients/rnn/step_N`,
and leaves such as placeholders `x0` ... `x999` (into a box `x2…997`).
Everything is one pass over the vertices per depth tried: linear, no recursion.
"""

from __future__ import annotations

import dataclasses
import re

from symgraph.viz.records import Vertex

#: a picture with more vertices than this is condensed
BUDGET = 300
#: how many numbered members are kept at each end of a run that is folded
KEEP = 2
#: a family of numbered names (step_0, step_1, ...) longer than this is folded
RUN = 8

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclasses.dataclass
class Plan:
    """How to draw a list of vertices: possibly renamed ones, and the scopes drawn as boxes."""

    vertices: list[Vertex]
    boxes: list[str] | None  # exact scope names to collapse; None: draw every vertex
    note: str = ""  # what was done, for a caption


def condense(vertices: list[Vertex], budget: int = BUDGET) -> Plan:
    """A plan that draws at most about `budget` things (vertices or boxes)."""
    if len(vertices) <= budget:
        return Plan(list(vertices), None)
    vertices, folded = fold_runs(vertices)
    deepest = max((v.scope.count("/") + 1 for v in vertices if v.scope), default=0)
    depths = [None, *range(deepest, 0, -1)]  # None: cut nothing, box only the folded runs
    for depth in depths:
        boxes = _boxes(vertices, folded, depth)
        loose = sum(1 for v in vertices if _box_of(v.scope, folded, depth) is None)
        if loose + len(boxes) <= budget or depth == 1:
            break
    parts = []
    if folded:
        parts.append(f"the middle of each run of numbered scopes folded into one box "
                     f"({', '.join(list(folded)[:3])}{', ...' if len(folded) > 3 else ''})")
    if depth is not None:
        parts.append(f"scopes {depth} level{'s' if depth > 1 else ''} deep drawn as boxes")
    note = f"{len(vertices):,} vertices, too many to draw one by one: " + "; ".join(parts)
    return Plan(vertices, boxes or None, note)


def fold_runs(vertices: list[Vertex]) -> tuple[list[Vertex], dict[str, int]]:
    """Rename vertices so the middle of every long run of numbered names shares one scope.

    Returns the renamed vertices and the folded scopes ({scope path: how many numbered
    members it stands for}), in order of first appearance.
    """
    families: dict[tuple[str, str], set[int]] = {}
    for v in vertices:
        parts = v.name.split("/")
        for j, part in enumerate(parts):
            m = _NUMBERED.match(part)
            if m:
                families.setdefault(("/".join(parts[:j]), m.group(1)), set()).add(int(m.group(2)))
    middles: dict[tuple[str, str], tuple[set[int], str]] = {}
    for (parent, stem), numbers in families.items():
        if len(numbers) > RUN:
            ordered = sorted(numbers)
            middle = ordered[KEEP:-KEEP]
            middles[(parent, stem)] = (set(middle), f"{stem}{middle[0]}…{middle[-1]}")
    if not middles:
        return list(vertices), {}
    folded: dict[str, int] = {}
    out = []
    for v in vertices:
        parts = v.name.split("/")
        renamed = None
        for j, part in enumerate(parts):
            m = _NUMBERED.match(part)
            if not m:
                continue
            found = middles.get(("/".join(parts[:j]), m.group(1)))
            if found is not None and int(m.group(2)) in found[0]:
                label = found[1]
                rest = parts[j + 1 :] if j < len(parts) - 1 else [part]  # a leaf keeps its name
                scope = "/".join([*parts[:j], label])
                folded[scope] = len(found[0])
                renamed = "/".join([scope, *rest])
                break
        out.append(dataclasses.replace(v, name=renamed) if renamed else v)
    return out, folded


def _box_of(scope: str, folded: dict, depth: int | None) -> str | None:
    """The box a vertex of `scope` is drawn in: the outermost folded scope it lies in, or
    its scope cut at `depth`; None when it is drawn by itself."""
    if not scope:
        return None
    parts = scope.split("/")
    for j in range(1, len(parts) + 1):
        if depth is not None and j == depth:
            return "/".join(parts[:j])
        prefix = "/".join(parts[:j])
        if prefix in folded:
            return prefix
    return None


def _boxes(vertices, folded, depth) -> list[str]:
    boxes: dict[str, None] = {}
    for v in vertices:
        box = _box_of(v.scope, folded, depth)
        if box is not None:
            boxes[box] = None
    return list(boxes)


def as_patterns(boxes: list[str]) -> list[str]:
    """Exact scope names as `collapse=` patterns: the wildcard characters escaped."""
    return [re.sub(r"([*?\[])", r"[\1]", b) for b in boxes]
