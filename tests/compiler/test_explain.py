"""sg.explain: the steps from the graph you built to the Program, each with its IR,
listing, statistics and what changed."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import symgraph as sg
from symgraph.compiler.passes import PASSES
from symgraph.graph import FORWARD, GRADIENT, UPDATE

PASS_NAMES = [name for name, _ in PASSES]
STEP_NAMES = ["forward", "gradients", "updates", *PASS_NAMES]


def _model():
    x = sg.Placeholder((None, 4), dtype="float64", name="x")
    w = sg.Variable(np.linspace(-1, 1, 8).reshape(4, 2), name="w")
    loss = sg.mean(sg.tanh(x @ w) * 1.0, name="loss")
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    return x, w, loss, train


FEED = np.arange(12.0).reshape(3, 4) / 10


def test_the_steps_are_forward_gradients_updates_then_one_per_pass_in_order():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    assert [step.name for step in explanation] == STEP_NAMES
    assert len(explanation) == len(STEP_NAMES)
    assert repr(explanation) == f"<Explanation: {len(STEP_NAMES)} steps: {', '.join(STEP_NAMES)}>"
    assert [s.report.pass_name for s in explanation] == STEP_NAMES


def test_steps_are_found_by_position_and_by_name():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    assert explanation[0] is explanation["forward"]
    assert explanation[-1] is explanation["fuse"]
    assert explanation[3].name == "prune"
    with pytest.raises(KeyError, match="no step named 'inline'.*'forward', 'gradients'"):
        explanation["inline"]


def test_each_step_has_stats_a_listing_and_its_own_ir():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    irs = set()
    for step in explanation:
        assert isinstance(step.ir, nx.DiGraph)
        irs.add(id(step.ir))
        assert {"nodes", "ops", "flops", "peak_bytes", "seconds"} <= set(step.stats)
        assert step.stats["nodes"] == len(step.ir)
        assert sum(step.stats["ops"].values()) == sum(
            1 for _, d in step.ir.nodes(data=True) if d["kind"] == "op"
        )
        assert step.stats["flops"] >= 0 and step.stats["peak_bytes"] >= 0
        assert step.stats["seconds"] >= 0
        assert step.listing.startswith("Program: ") and step.listing == str(step.program)
        assert step.title
    assert len(irs) == len(STEP_NAMES)  # every step kept its own IR
    for name in PASS_NAMES:  # a pass's time is its own
        assert explanation[name].stats["seconds"] == explanation[name].report.seconds
    table = explanation.table().splitlines()
    assert table[0].split() == ["step", "nodes", "flops", "peak", "bytes", "ms", "changes"]
    assert [row.split()[0] for row in table[1:]] == STEP_NAMES


def test_the_forward_gradients_and_updates_steps_grow_by_origin():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    origins = {
        name: {d["origin"] for _, d in explanation[name].ir.nodes(data=True)}
        for name in ("forward", "gradients", "updates")
    }
    assert origins == {
        "forward": {FORWARD},
        "gradients": {FORWARD, GRADIENT},
        "updates": {FORWARD, GRADIENT, UPDATE},
    }
    forward = explanation["forward"]
    assert sorted(d["name"] for _, d in forward.ir.nodes(data=True)) == [
        "Const",
        "loss",
        "matmul",
        "mul",
        "tanh",
        "w",
        "x",
    ]
    assert not forward.report.changed


def test_the_gradients_step_reports_the_nodes_autodiff_added():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    step = explanation["gradients"]
    graph_grads = [n for n in sg.get_default_graph().nodes if n.origin == GRADIENT]
    assert [c.name for c in step.report.changes] == [n.name for n in graph_grads]
    assert {(c.kind, c.rule) for c in step.report.changes} == {("added", "autodiff")}
    assert set(step.changes.values()) == {"added"}
    assert set(step.changes) == set(step.ir) - set(explanation["forward"].ir)
    updates = explanation["updates"].report
    assert {c.rule for c in updates.changes} == {"optimizer / sg.assign"}
    assert {"assign", "step"} <= {c.name.rsplit("/", 1)[-1] for c in updates.changes}


def test_steps_that_changed_nothing_say_so():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    assert not explanation["prune"].report.changed and not explanation["prune"].changed
    assert not explanation["stabilize"].report.changed
    assert explanation["simplify"].report.changed  # the x * 1.0 and more
    assert explanation["fuse"].report.changed
    for step in explanation:
        assert step.changed == bool(step.report.changes) == bool(step.changes)
        if not step.changed:
            assert str(step.report) == f"{step.name}: no change"


def test_the_explanations_program_runs_as_a_session_does():
    x, w, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED})
    fetched, updates = explanation.program.run({x: FEED}, {w: w.initial_value})
    with sg.Session() as sess:
        loss_value, _ = sess.run([loss, train], {x: FEED})
        new_w = sess.run(w)
    np.testing.assert_allclose(fetched[0], loss_value, rtol=1e-12)
    assert fetched[1] is None  # an update answers None
    [(var, value)] = updates
    assert var is w
    np.testing.assert_allclose(value, new_w, rtol=1e-12)
    assert str(explanation.program) == explanation["fuse"].listing


def test_disabled_passes_have_no_step():
    x, _, loss, train = _model()
    explanation = sg.explain([loss, train], {x: FEED}, disable=["cse", "fuse"])
    assert [s.name for s in explanation] == [n for n in STEP_NAMES if n not in ("cse", "fuse")]
    plain = sg.explain([loss, train], {x: FEED}, disable="all")
    assert [s.name for s in plain] == ["forward", "gradients", "updates"]
    fetched, _ = plain.program.run(
        {x: FEED}, {v: v.initial_value for v in sg.get_default_graph().variables}
    )
    assert np.isfinite(fetched[0])


def test_a_graph_without_gradients_has_empty_gradient_and_update_steps():
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    one = sg.Constant(1.0)
    y = sg.exp(x) * one
    explanation = sg.explain(y, [x])
    assert not explanation["gradients"].changed and not explanation["updates"].changed
    assert explanation["simplify"].changes == {y.id: "replaced", one.id: "removed"}
    assert explanation["fuse"].stats["nodes"] == 2
    # shapes not given: no buffer is planned, so no bytes are counted
    assert explanation["fuse"].stats["peak_bytes"] == 0


def test_explaining_leaves_the_graph_as_it_was():
    x, _, loss, train = _model()
    graph = sg.get_default_graph()
    before = [(n.name, n.op.name, tuple(i.name for i in n.inputs), n.shape) for n in graph.nodes]
    sg.explain([loss, train], {x: FEED})
    after = [(n.name, n.op.name, tuple(i.name for i in n.inputs), n.shape) for n in graph.nodes]
    assert after == before


def test_the_table_says_when_unknown_sizes_make_its_figures_estimates():
    x = sg.Placeholder((None, 3), name="x")
    loss = sg.sum(sg.tanh(x @ sg.Variable(np.ones((3, 2), np.float32), name="w")))
    note = "some shapes have None dims: flops count each as 1"
    assert note in sg.explain(loss, feeds=[x]).table()
    assert note not in sg.explain(loss, feeds={x: (4, 3)}).table()
