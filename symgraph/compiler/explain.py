"""sg.explain: every step from the graph you built to the Program that runs, kept to look at.

    steps = sg.explain([loss, train], feeds={x: X, y: Y})
    for step in steps:
        print(step.name, step.stats["nodes"], step.report)
    steps["fuse"].render("after_fuse.svg")
    steps.save_html("compile.html")   # the explorer page: step through it with the arrow keys

The steps, in order:
  forward    the Nodes you built (that the fetches need)
  gradients  plus the gradient Nodes that sg.gradients / minimize() added
  updates    plus the update Nodes (the optimizer's assign and group)
  then one step after each compiler pass (prune, stabilize, ... fuse).
Each step has its IR, a listing of it (as a Program: run order, buffers, frees),
statistics, and what changed (the pass's Report, keyed by IR vertex).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import networkx as nx

from symgraph.compiler.passes import PASSES
from symgraph.compiler.pipeline import compile_steps
from symgraph.compiler.report import Report
from symgraph.compiler.rewrite import readers, start, topological
from symgraph.compiler.schedule import schedule
from symgraph.graph import FORWARD, GRADIENT

#: what the first three steps mean, for people; a pass's step is titled by its own docstring
TITLES = {
    "forward": "the graph you built",
    "gradients": "plus the gradient graph autodiff added",
    "updates": "plus the update Nodes the optimizer added",
}


def _pass_title(name: str) -> str:
    """The first line of a pass's module docstring, after its name:
    "simplify: remove the algebra that does nothing, ..." -> "remove the algebra ..."."""
    for pass_name, run_pass in PASSES:
        if pass_name == name:
            doc = sys.modules[run_pass.__module__].__doc__ or ""
            first = doc.strip().splitlines()[0] if doc.strip() else name
            return first.split(": ", 1)[-1].rstrip(".")
    return name


@dataclass
class ExplainStep:
    """One step of a compile: its IR, a listing, statistics and what changed."""

    name: str
    ir: nx.DiGraph
    report: Report
    listing: str = ""
    stats: dict = field(default_factory=dict)
    program: object = None

    @property
    def title(self) -> str:
        return TITLES.get(self.name) or _pass_title(self.name)

    @property
    def changed(self) -> bool:
        return self.report.changed

    @property
    def changes(self) -> dict:
        """{vertex key: 'added' | 'removed' | 'merged' | 'replaced'} for this step."""
        return {c.key: c.kind for c in self.report.changes}

    def render(self, path, **options):
        """Draw this step's IR, with the vertices it changed highlighted."""
        from symgraph.viz import render

        options.setdefault("highlight", self.changes)
        return render(self.ir, path, **options)

    def to_dot(self, **options) -> str:
        from symgraph.viz import to_dot

        options.setdefault("highlight", self.changes)
        return to_dot(self.ir, **options)

    def _repr_svg_(self):
        """Jupyter's picture of this step, as for a Node (viz/jupyter.py): collapsed when
        big, a note saying why when too big even so, None (the text) without `dot`."""
        from symgraph.viz.jupyter import picture

        return picture(self.ir, highlight=self.changes)

    def __repr__(self):
        return f"<step {self.name}: {self.stats.get('nodes')} nodes, {len(self.report.changes)} changes>"


class Explanation:
    """The steps of one compile: iterable, indexable by position or name, savable as a page."""

    def __init__(self, steps: list[ExplainStep], program):
        self.steps = steps
        self.program = program

    def __iter__(self):
        return iter(self.steps)

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, which):
        if isinstance(which, str):
            for step in self.steps:
                if step.name == which:
                    return step
            raise KeyError(f"no step named {which!r}; the steps are {[s.name for s in self.steps]}")
        return self.steps[which]

    def table(self) -> str:
        """One line a step: nodes, FLOPs, planned peak memory, pass time, changes."""
        rows = [("step", "nodes", "flops", "peak bytes", "ms", "changes")]
        for s in self.steps:
            st = s.stats
            rows.append((s.name, str(st["nodes"]), str(st["flops"]), str(st["peak_bytes"]),
                         f"{st['seconds'] * 1000:.1f}", str(len(s.report.changes))))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        table = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
        if any(None in inst.shape for inst in self.program.instructions):
            # a None dim (a batch compiled without its size) has no size to count with
            table += (
                "\n(some shapes have None dims: flops count each as 1, and peak bytes leave out "
                "those values; give feeds as arrays or shapes for exact figures)"
            )
        return table

    def __str__(self):
        return self.table()

    def __repr__(self):
        return f"<Explanation: {len(self.steps)} steps: {', '.join(s.name for s in self.steps)}>"

    def _repr_html_(self):
        import html

        return "<pre>" + html.escape(self.table()) + "</pre>"

    def save_html(self, path, **options):
        """One self-contained HTML page that steps through the compile (see viz/explorer.py)."""
        from symgraph.viz.explorer import save_html

        return save_html(self, path, **options)


def explain(fetches, feeds=(), disable=()) -> Explanation:
    """Compile `fetches` and keep every step, from the graph you built to the final Program.

    `feeds` is as for sg.compile: a list of fed Nodes, or a dict of Node -> value
    (or shape), which makes every shape concrete so memory can be planned.
    """
    program, steps = compile_steps(fetches, feeds, disable, keep_steps=True)
    lowered = steps[0].ir
    out = []
    forward = _subgraph(lowered, lambda d: d["origin"] == FORWARD)
    out.append(_step("forward", forward, Report("forward")))
    with_grads = _subgraph(lowered, lambda d: d["origin"] in (FORWARD, GRADIENT))
    added = Report("gradients")
    for key in sorted(with_grads):  # in creation order, as the user's graph has them
        if key not in forward:
            added.add("added", key, with_grads.nodes[key]["name"], "autodiff")
    out.append(_step("gradients", with_grads, added))
    updates = Report("updates")
    for key in sorted(lowered):
        if key not in with_grads:
            updates.add("added", key, lowered.nodes[key]["name"], "optimizer / sg.assign")
    out.append(_step("updates", lowered, updates))
    for step in steps[1:]:
        out.append(_step(step.name, step.ir, step.report))
    return Explanation(out, program)


def _subgraph(ir, keep) -> nx.DiGraph:
    """The part of `ir` whose vertices pass `keep` and whose inputs are all in it,
    fetching its own sinks. (A forward-tagged Node computed from gradients, such
    as a gradient norm built by hand, waits for the step that has its inputs.)"""
    sub = start(ir)
    kept = set()
    for key in topological(ir):
        data = ir.nodes[key]
        if keep(data) and all(i in kept for i in data["inputs"]):
            kept.add(key)
    sub.remove_nodes_from([k for k in ir.nodes if k not in kept])
    sub.graph["fetches"] = [k for k in sub if readers(sub, k) == 0]
    sub.graph["updates"] = [k for k in sub.graph["updates"] if k in sub]
    return sub


def _step(name, ir, report) -> ExplainStep:
    program = schedule(ir)
    stats = dict(program.stats(), seconds=report.seconds)
    return ExplainStep(name, ir, report, str(program), stats, program)
