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
import functools
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
    """A plan that draws at most about `budget` things (vertices or boxes).

    The records of long numbered runs are renamed in place (see fold_runs).
    """
    if len(vertices) <= budget:
        return Plan(list(vertices), None)
    vertices, folded = fold_runs(vertices)
    deepest = max((v.scope.count("/") + 1 for v in vertices if v.scope), default=0)
    depths = [None, *range(deepest, 0, -1)]  # None: cut nothing, box only the folded runs
    for depth in depths:
        boxes: dict[str, None] = {}
        loose = 0
        for v in vertices:
            box = _box_of(v.scope, folded, depth)
            if box is None:
                loose += 1
            else:
                boxes[box] = None
        if loose + len(boxes) <= budget:
            break
    parts = []
    if folded:
        parts.append(
            f"the middle of each run of numbered scopes folded into one box "
            f"({', '.join(list(folded)[:3])}{', ...' if len(folded) > 3 else ''})"
        )
    if depth is not None:
        parts.append(f"scopes {depth} level{'s' if depth > 1 else ''} deep drawn as boxes")
    if not parts:
        return Plan(
            vertices, None, f"{len(vertices):,} vertices, drawn in full: no scopes to collapse"
        )
    note = f"{len(vertices):,} vertices, too many to draw one by one: " + "; ".join(parts)
    return Plan(vertices, list(boxes) or None, note)


def fold_runs(vertices: list[Vertex]) -> tuple[list[Vertex], dict[str, int]]:
    """Rename vertices so the middle of every long run of numbered names shares one scope.

    The records are renamed in place (vertices_of makes fresh ones for each call).
    Returns them and the folded scopes ({scope path: how many numbered members it
    stands for}), in order of first appearance.
    """
    families: dict[tuple[str, str], set[int]] = {}
    numbered = [_numbered_parts(v.name) for v in vertices]
    for found in numbered:
        for _, parent, stem, number in found:
            families.setdefault((parent, stem), set()).add(number)
    middles: dict[tuple[str, str], tuple[set[int], str]] = {}
    for (parent, stem), numbers in families.items():
        if len(numbers) > RUN:
            ordered = sorted(numbers)
            middle = ordered[KEEP:-KEEP]
            middles[(parent, stem)] = (set(middle), f"{stem}{middle[0]}…{middle[-1]}")
    folded: dict[str, int] = {}
    if not middles:
        return vertices, folded
    for v, found in zip(vertices, numbered):
        for j, parent, stem, number in found:
            run = middles.get((parent, stem))
            if run is not None and number in run[0]:
                parts = v.name.split("/")
                scope = f"{parent}/{run[1]}" if parent else run[1]
                rest = parts[j + 1 :] if j < len(parts) - 1 else parts[j:]  # a leaf keeps its name
                folded[scope] = len(run[0])
                v.name = "/".join([scope, *rest])
                break
    return vertices, folded


@functools.lru_cache(maxsize=1 << 16)
def _numbered_parts(name: str) -> tuple:
    """(position, parent path, stem, number) for each part of `name` that ends in digits."""
    parts = name.split("/")
    found = []
    for j, part in enumerate(parts):
        if part and part[-1].isdigit():
            m = _NUMBERED.match(part)
            found.append((j, "/".join(parts[:j]), m.group(1), int(m.group(2))))
    return tuple(found)


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


def as_patterns(boxes: list[str]) -> list[str]:
    """Exact scope names as `collapse=` patterns: the wildcard characters escaped."""
    return [re.sub(r"([*?\[])", r"[\1]", b) for b in boxes]
