"""The explorer page: one HTML file that steps through a compile, like Compiler Explorer.

    steps = sg.explain([loss, train], feeds={x: X, y: Y})
    steps.save_html("compile.html")      # open it in any browser; arrow keys step

The page is self-contained (inline SVG, CSS and JavaScript; nothing is fetched,
no server is needed). On the side, the steps of the compile; for the chosen one:
  - the picture of its IR, with the vertices the step changed marked (added,
    merged into, replaced); the vertices it took away are marked on a "before"
    picture (the previous step's IR), one key press away;
  - the listing of its Program, the lines of changed vertices marked. Lines are
    matched to vertices through the schedule's slots (slot i is the i-th vertex of
    the IR's run order), never by comparing text;
  - what changed and why (each rule), the figures, and a memory view: every value's
    lifetime along the schedule, and the peak.
Steps that changed nothing are folded in the list and skipped by the arrow keys.

Big IRs are drawn condensed (condense.py: long runs of numbered scopes folded,
then scopes collapsed to fit), and the dot layouts run in parallel processes
(explorer_pictures.py). The memory view is memory_view.py; the page's CSS and
JavaScript are static/explorer.css and static/explorer.js, inlined.
"""

from __future__ import annotations

import dataclasses
import os
import re
from importlib import resources

from symgraph.compiler.rewrite import topological
from symgraph.viz.condense import BUDGET
from symgraph.viz.explorer_pictures import Pictures, mark_class
from symgraph.viz.labels import html_text
from symgraph.viz.memory_view import memory_svg, nice_bytes

#: listings longer than this show the changed lines in context, the rest folded
MAX_LISTING = 1500
CONTEXT = 2  # unchanged lines kept around each changed one in a folded listing
HEAD = 12  # lines always kept at the top of a folded listing (the feeds, the Variables)
#: rows of the table of changes (all are counted in its summary)
MAX_CHANGES = 200

#: how a vertex that others were merged into (or replaced by) is marked
_INTO = {"merged": "merged into", "replaced": "replacement"}


def save_html(explanation, path, title: str | None = None, budget: int = BUDGET) -> str:
    """Write the explorer page of `explanation` (from sg.explain) to `path`; return the path."""
    text = page(explanation, title=title, budget=budget)
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def page(explanation, title: str | None = None, budget: int = BUDGET) -> str:
    """The explorer page as HTML text."""
    steps = list(explanation)
    pictures = Pictures(budget)
    views = []
    for i, step in enumerate(steps):
        prev = steps[i - 1] if i else None
        after, before = marks(step, prev.ir if prev is not None else None)
        view = _View(i, step, prev, after, before)
        view.after_pic = pictures.add(step.ir, after)
        if before:
            view.before_pic = pictures.add(prev.ir, before)
        views.append(view)
    pictures.draw()
    title = title or "symgraph: the compile, step by step"
    body = [_sidebar(views, title), '<main id="main">', _toolbar()]
    body.extend(_section(v, pictures) for v in views)
    body.append(
        f"<footer>Made by symgraph's explain: {len(steps)} steps. Keys: ← → step, "
        "B before/after, F fit the picture, + and - zoom. Click a node or a listing line "
        "to find it in the other.</footer></main>"
    )
    return _document(title, "\n".join(body))


# -- what changed, as marks on vertices ------------------------------------------------
def marks(step, prev_ir) -> tuple[dict, dict]:
    """({key: mark} on this step's IR, {key: mark} on the previous IR), from the Report.

    A change whose vertex is still here (added; replaced in place, as fold does) is
    marked on this IR; one whose vertex is gone (removed, merged, replaced away) on
    the previous IR. The vertex another was merged into, or replaced by, is marked
    here too ('merged into', 'replacement'). Linear in the number of changes.
    """
    ir = step.ir
    after, before = {}, {}
    by_name = None
    for c in step.report.changes:
        if c.key in ir:
            after.setdefault(c.key, c.kind)
        elif prev_ir is not None and c.key in prev_ir:
            before.setdefault(c.key, c.kind)
        if c.into is None:
            continue
        if not isinstance(c.into, str) and c.into in ir:
            targets = [c.into]
        else:
            if by_name is None:
                by_name = {}
                for key, data in ir.nodes(data=True):
                    by_name.setdefault(data.get("name"), []).append(key)
            targets = by_name.get(c.into, [])
        for key in targets:
            after.setdefault(key, _INTO.get(c.kind, c.kind))
    return after, before


@dataclasses.dataclass
class _View:
    index: int
    step: object
    prev: object
    after: dict
    before: dict
    after_pic: int = -1
    before_pic: int = -1


# -- the listing -------------------------------------------------------------------------
def line_keys(step) -> list:
    """The IR vertex behind each line of `step.listing` (None for the other lines).

    The schedule gives slot i to the i-th vertex of the IR's run order; the listing
    writes the feeds, Variables, Constants and then the instructions, each one line,
    between a header line and the fetch/update lines.
    """
    program, ir = step.program, step.ir
    order = _slot_keys(program, ir)
    lines = step.listing.split("\n")
    slots = [s for s, _ in program.feeds] + [s for s, _ in program.variables]
    slots += [entry[0] for entry in program.constants]
    slots += [inst.out for inst in program.instructions]
    keys = [None] * len(lines)
    if len(order) == program.n_slots and 1 + len(slots) <= len(lines):
        for j, slot in enumerate(slots):
            keys[1 + j] = order[slot]
        if all(lines[1 + j].startswith(f"%{slot} ") for j, slot in enumerate(slots)):
            return keys
    # The listing's layout is not the one expected: read each line's slot from its head.
    keys = [None] * len(lines)
    for j, line in enumerate(lines):
        m = re.match(r"%(\d+) = ", line)
        if m and int(m.group(1)) < len(order):
            keys[j] = order[int(m.group(1))]  # may be None: a slot no vertex was matched to
    return keys


def _slot_keys(program, ir) -> list:
    """The IR vertex in each slot of `program`: slot i holds the i-th vertex of the run
    order (schedule.py). Checked against the names the Program keeps for its slots; if
    the schedule ever orders differently, slots are matched to vertices by name."""
    order = list(topological(ir))
    names = program.names
    if len(order) == program.n_slots and all(
        names.get(slot) == ir.nodes[key]["name"] for slot, key in enumerate(order)
    ):
        return order
    by_name = {}
    for key, data in ir.nodes(data=True):
        by_name.setdefault(data["name"], key)
    return [by_name.get(names.get(slot)) for slot in range(program.n_slots)]


def _listing(view, pictures) -> str:
    """The step's listing, the lines of the vertices it changed marked. A long listing
    shows its marked lines with a little context, the rest folded; one with nothing
    marked (the first step) shows its beginning. At most MAX_LISTING lines either way."""
    step, lines = view.step, view.step.listing.split("\n")
    keys = line_keys(step)
    marked = [keys[j] is not None and keys[j] in view.after for j in range(len(lines))]
    if len(lines) <= MAX_LISTING or not any(marked):
        shown = list(range(min(len(lines), MAX_LISTING)))
    else:
        keep = [j < HEAD for j in range(len(lines))]
        for j, m in enumerate(marked):
            if m:
                for k in range(max(0, j - CONTEXT), min(len(lines), j + CONTEXT + 1)):
                    keep[k] = True
        keep[-1] = True
        shown = [j for j in range(len(lines)) if keep[j]][:MAX_LISTING]
    out, last = [], -1
    for j in shown:
        if j > last + 1:
            out.append(f'<span class="fold">⋯ {j - last - 1:,} unchanged lines</span>')
        attrs = ""
        key = keys[j]
        if key is not None:
            n = pictures.owner_id(view.after_pic, key)
            attrs = f' data-n="{n}"' if n else ""
            if marked[j]:
                attrs += f' data-mark="{html_text(view.after[key])}"'
        cls = "line " + mark_class(view.after[key]) if marked[j] else "line"
        out.append(f'<span class="{cls}"{attrs}>{html_text(lines[j]) or " "}</span>')
        last = j
    if last < len(lines) - 1:
        out.append(
            f'<span class="fold">⋯ {len(lines) - 1 - last:,} more lines not shown here: '
            f'print(steps["{html_text(step.name)}"].listing) shows them all</span>'
        )
    n_marked = sum(marked)
    head = f"{n_marked:,} of {len(lines):,} lines marked" if n_marked else f"{len(lines):,} lines"
    return (
        f'<div class="listing"><div class="panehead">Program listing · {head}</div>'
        f"<pre>{''.join(out)}</pre></div>"
    )


# -- the page's parts -------------------------------------------------------------------
def _sidebar(views, title) -> str:
    rows = []
    for v in views:
        step = v.step
        n = len(step.report.changes)
        quiet = n == 0 and v.index > 0
        badge = "no change" if quiet else (f"{n:,} change{'s' if n != 1 else ''}" if n else "start")
        rows.append(
            f'<li><a href="#step-{v.index}" class="steplink{" quiet" if quiet else ""}" '
            f'data-i="{v.index}"><span class="num">{v.index}</span>'
            f'<span class="name">{html_text(step.name)}</span>'
            f'<span class="badge">{badge}</span>'
            f'<span class="title">{html_text(step.title)}</span>'
            f'<span class="count">{len(step.ir):,} vertices</span></a></li>'
        )
    return (
        f'<nav id="steps"><h1>{html_text(title)}</h1>'
        f"<ol>{''.join(rows)}</ol>"
        '<label class="quietbox"><input type="checkbox" id="stop-quiet"> '
        "arrow keys stop at steps that changed nothing</label>"
        '<p class="keys"><kbd>←</kbd> <kbd>→</kbd> step · <kbd>B</kbd> before/after · '
        "<kbd>F</kbd> fit</p></nav>"
    )


def _toolbar() -> str:
    return (
        '<div id="bar">'
        '<button id="prev" type="button" title="previous step (←)">← prev</button>'
        '<button id="next" type="button" title="next step (→)">next →</button>'
        '<span id="where"></span></div>'
    )


def _section(view, pictures) -> str:
    step, i = view.step, view.index
    quiet = not step.report.changes and i > 0
    head = (
        f'<header class="stephead"><h2><span class="num">{i}</span> '
        f"{html_text(step.name)} <small>{html_text(step.title)}</small></h2>"
        f"<p>{_summary(view)}</p></header>"
    )
    return (
        f'<section class="step{" quiet" if quiet else ""}" id="step-{i}" data-i="{i}" '
        f'data-name="{html_text(step.name)}">{head}'
        f'<div class="views">{_figure(view, pictures)}{_listing(view, pictures)}</div>'
        f'<div class="details">{_changes(view, pictures)}{_stats(view)}</div>'
        f'<div class="memorypane"><div class="panehead">Memory along the schedule</div>'
        f"{memory_svg(step.program.memory, len(step.program.instructions))}</div>"
        "</section>"
    )


def _summary(view) -> str:
    changes = view.step.report.changes
    if view.index == 0:
        return f"The starting point: {len(view.step.ir):,} vertices."
    if not changes:
        return "This step changed nothing; the picture and listing are as after the step before."
    counts = {}
    for c in changes:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    parts = ", ".join(
        f'<span class="{mark_class(k)} tag">{k} {n:,}</span>' for k, n in counts.items()
    )
    before = len(view.prev.ir) if view.prev is not None else 0
    return f"{parts}: {before:,} → {len(view.step.ir):,} vertices."


def _figure(view, pictures) -> str:
    after = pictures.pictures[view.after_pic]
    tabs = '<button type="button" class="tab on" data-show="after">after</button>'
    boxes = f'<div class="svgbox after">{after.svg}</div>'
    if view.before_pic >= 0:
        tabs += (
            '<button type="button" class="tab" data-show="before" title="the picture '
            'before this step, what it took away marked (B)">'
            f"before ({len(view.before):,} taken away)</button>"
        )
        before = pictures.pictures[view.before_pic]
        boxes += f'<div class="svgbox before" hidden>{before.svg}</div>'
    tabs += (
        '<span class="zoom"><button type="button" class="zoomout" title="smaller (-)">−</button>'
        '<span class="zoomed"></span>'
        '<button type="button" class="zoomin" title="bigger (+)">+</button>'
        '<button type="button" class="fit" title="fit the width, or natural size (F)">'
        "fit / 1:1</button></span>"
    )
    note = f'<p class="note">{html_text(after.note)}.</p>' if after.note else ""
    return f'<figure class="picture"><div class="panehead">{tabs}</div>{boxes}{note}</figure>'


def _changes(view, pictures) -> str:
    changes = view.step.report.changes
    if not changes:
        return '<div class="changes"><div class="panehead">Changes</div><p>None.</p></div>'
    groups = {}
    for c in changes:
        groups[(c.kind, c.rule)] = groups.get((c.kind, c.rule), 0) + 1
    summary = "".join(
        f'<li><span class="{mark_class(k)} tag">{k}</span> {n:,} × {html_text(rule)}</li>'
        for (k, rule), n in list(groups.items())[:30]
    )
    if len(groups) > 30:
        summary += f"<li>… and {len(groups) - 30} more rules</li>"
    if len(groups) * 2 > len(changes):  # a rule per change or so: the table says it all
        summary = ""
    else:
        summary = f'<ul class="rules">{summary}</ul>'
    rows = []
    for c in changes[:MAX_CHANGES]:
        if c.key in view.after:
            n, side = pictures.owner_id(view.after_pic, c.key), "after"
        elif c.key in view.before and view.before_pic >= 0:
            n, side = pictures.owner_id(view.before_pic, c.key), "before"
        else:
            n, side = None, ""
        link = f' data-n="{n}" data-side="{side}"' if n else ""
        into = f" → {html_text(str(c.into))}" if c.into is not None else ""
        rows.append(
            f'<tr{link}><td><span class="{mark_class(c.kind)} tag">{c.kind}</span></td>'
            f"<td>{html_text(c.name)}{into}</td><td>{html_text(c.rule)}</td></tr>"
        )
    more = (
        f'<p class="more">… and {len(changes) - MAX_CHANGES:,} more changes</p>'
        if len(changes) > MAX_CHANGES
        else ""
    )
    return (
        f'<div class="changes"><div class="panehead">Changes ({len(changes):,})</div>'
        f"{summary}<table>{''.join(rows)}</table>{more}</div>"
    )


_FIGURES = [
    ("nodes", "vertices", str),
    ("instructions", "instructions", str),
    ("flops", "FLOPs (estimated)", str),
    ("peak_bytes", "peak memory (planned)", nice_bytes),
    ("naive_bytes", "memory if nothing were freed", nice_bytes),
    ("buffer_bytes", "reused buffers", nice_bytes),
]


def _stats(view) -> str:
    now = view.step.stats
    before = view.prev.stats if view.prev is not None else {}
    rows = []
    for key, label, fmt in _FIGURES:
        if key not in now:
            continue
        value = now[key]
        shown = f"{value:,}" if fmt is str else fmt(value)
        rows.append(
            f"<tr><th>{label}</th><td>{shown}</td>{_delta(value, before.get(key), fmt)}</tr>"
        )
    rows.append(
        f"<tr><th>time of this step</th><td>{now.get('seconds', 0) * 1000:.1f} ms</td>"
        "<td></td></tr>"
    )
    ops_now, ops_before = now.get("ops", {}), before.get("ops", {})
    ops = []
    for name in sorted(set(ops_now) | set(ops_before)):
        n = ops_now.get(name, 0)
        b = ops_before.get(name, 0)
        d = (
            ""
            if not view.prev or n == b
            else f' <span class="{"up" if n > b else "down"}">{n - b:+,}</span>'
        )
        ops.append(f"<li>{html_text(name)} {n:,}{d}</li>")
    return (
        f'<div class="stats"><div class="panehead">Figures</div><table>{"".join(rows)}</table>'
        f'<div class="panehead">Ops by kind</div><ul class="ops">{"".join(ops)}</ul></div>'
    )


def _delta(value, before, fmt) -> str:
    if before is None or before == value:
        return "<td></td>"
    diff = value - before
    shown = f"{diff:+,}" if fmt is str else ("+" if diff > 0 else "−") + fmt(abs(diff))
    return f'<td class="{"up" if diff > 0 else "down"}">{shown}</td>'


def _document(title: str, body: str) -> str:
    static = resources.files("symgraph.viz") / "static"
    css = (static / "explorer.css").read_text(encoding="utf-8")
    js = (static / "explorer.js").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{html_text(title)}</title><style>\n{css}</style></head>\n"
        f"<body>\n{body}\n<script>\n{js}</script>\n</body></html>\n"
    )
