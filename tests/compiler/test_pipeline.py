"""The pipeline: lower, passes, schedule; sg.compile's arguments and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.compiler import compile_steps
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import PASSES
from symgraph.compiler.passes.prune import prune


def _model():
    x = sg.Placeholder((2,), name="x")
    return x, sg.sum(sg.tanh(x) * 2.0)


def test_compile_records_one_step_per_pass_after_lowering():
    _, y = _model()
    _, steps = compile_steps(y)
    assert [s.name for s in steps] == ["lower"] + [name for name, _ in PASSES]
    assert all(s.report.pass_name == s.name for s in steps)


def test_disable_all_runs_no_pass():
    x, y = _model()
    program, steps = compile_steps(y, disable="all")
    assert [s.name for s in steps] == ["lower"]
    with sg.Session(disable="all") as sess:
        assert sess.run(y, {x: [0.0, 0.0]}) == 0.0
    assert [inst.name for inst in program.instructions] == ["tanh", "mul", "sum"]


@pytest.mark.parametrize("disable", [["prune"], "prune", ("prune",)])
def test_disable_one_pass_by_name(disable):
    _, y = _model()
    _, steps = compile_steps(y, disable=disable)
    assert "prune" not in [s.name for s in steps]


def test_an_unknown_pass_name_is_a_graph_error_listing_the_passes():
    _, y = _model()
    with pytest.raises(sg.GraphError, match="no compiler pass named 'no_such_pass'") as info:
        sg.compile(y, disable=["no_such_pass"])
    assert "prune" in str(info.value)


def test_compile_accepts_a_node_or_a_list_and_refuses_other_things():
    x, y = _model()
    assert str(sg.compile(y)) == str(sg.compile([y]))
    with pytest.raises(sg.FetchError, match="can only compile Nodes, got int"):
        sg.compile([y, 3])
    with sg.Graph().as_default():
        other = sg.Placeholder((), name="other")
    with pytest.raises(sg.GraphError, match="different Graphs"):
        sg.compile([y, other])


def test_prune_removes_what_no_fetch_needs_and_leaves_its_input_alone():
    x = sg.Placeholder((2,), name="x")
    keep = sg.exp(x, name="keep")
    drop = sg.tanh(x, name="drop")
    ir = lower([keep, drop])
    ir.graph["fetches"] = [keep.id]  # as if a pass had rewired drop's consumer away
    out, report = prune(ir)
    assert set(out.nodes) == {x.id, keep.id}
    assert drop.id in ir.nodes  # the input IR is unchanged
    assert [(c.kind, c.name) for c in report.changes] == [("removed", "drop")]
    assert report.changed and "removed" in str(report) and "drop" in str(report)


def test_prune_on_a_fresh_ir_reports_no_change():
    _, y = _model()
    _, report = prune(lower([y]))
    assert not report.changed and str(report) == "prune: no change"


def test_compile_with_a_variable_and_feeds_runs_in_a_session():
    x = sg.Placeholder((None, 2), name="x")
    W = sg.Variable(np.eye(2, dtype=np.float32), name="W")
    y = sg.sum(x @ W)
    program = sg.compile(y)
    fetched, updates = program.run({x: np.ones((3, 2), np.float32)}, {W: W.initial_value})
    assert fetched == [6.0] and updates == []


def test_program_run_refuses_a_shape_its_buffers_were_not_planned_for():
    """A Program compiled for (4, 3) feeds has buffers of that shape: a (1, 3) batch
    would be broadcast into them, and a (5, 3) one would fail inside a kernel."""
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    z = sg.tanh(x * 2.0 + 1.0)
    program = sg.compile(z, feeds={x: np.zeros((4, 3))})
    for wrong in ((1, 3), (5, 3)):
        with pytest.raises(sg.FeedError, match=rf"x was fed \({wrong[0]}, 3\), but this Program was compiled for \(4, 3\)") as info:
            program.run({x: np.full(wrong, 0.5)}, {})
        assert "sg.compile(fetches, {x: value})" in str(info.value)
    (value,), _ = program.run({x: np.full((4, 3), 0.5)}, {})
    np.testing.assert_allclose(value, np.tanh(np.full((4, 3), 2.0)))
    # checked as Session.run checks: a list is an array, a wrong dtype or a missing feed refused
    (value,), _ = program.run({x: [[0.5] * 3] * 4}, {})
    np.testing.assert_allclose(value, np.tanh(np.full((4, 3), 2.0)))
    with pytest.raises(sg.FeedError, match="x expects float64 but was fed complex128"):
        program.run({x: np.zeros((4, 3), complex)}, {})
    with pytest.raises(sg.FeedError, match="this Program needs a value for x"):
        program.run({}, {})
    # compiled without feed shapes, any batch size goes
    free = sg.compile(z)
    (value,), _ = free.run({x: np.zeros((2, 3))}, {})
    assert value.shape == (2, 3)


def test_a_shape_given_to_compile_must_fit_the_declared_one():
    """It was a RunError 'with the shapes fed in this run ... no variable was changed',
    from whichever op first disagreed, though nothing ran."""
    x = sg.Placeholder((None, 3), name="x")
    loss = sg.sum(x @ sg.Variable(np.ones((3, 2), np.float32), name="w"))
    for given in ((5, 4), np.zeros((5, 4)), (5, 3, 1)):
        with pytest.raises(sg.FeedError, match=r"x is declared \(None, 3\), but the shape given for it is"):
            sg.compile(loss, feeds={x: given})
    assert sg.compile(loss, feeds={x: (5, 3)}).feed_shapes


def test_a_pass_of_ones_own_that_breaks_the_ir_is_named(monkeypatch):
    """A pass that dropped a vertex still read showed up as a bare KeyError inside the
    pass after it (found by a bug hunt)."""
    import symgraph.compiler.pipeline as pipeline
    from symgraph.compiler import passes
    from symgraph.compiler.report import Report

    def drops_a_read_vertex(ir):
        ir = ir.copy()
        ir.graph = dict(ir.graph)
        victim = next(k for k, d in ir.nodes(data=True) if d["op"].name == "tanh")
        ir.remove_node(victim)
        return ir, Report("drops_a_read_vertex")

    def returns_the_ir_only(ir):
        return ir

    x, y = _model()
    for bad, said in ((drops_a_read_vertex, "failed: KeyError"), (returns_the_ir_only, "not (ir, report)")):
        monkeypatch.setattr(passes, "PASSES", [(bad.__name__, bad), *PASSES])
        monkeypatch.setattr(pipeline, "PASSES", passes.PASSES)
        with pytest.raises(sg.GraphError, match="compiler pass") as info:
            sg.compile(y, feeds={x: np.ones(2, np.float32)})
        assert said in str(info.value)


def test_compile_and_explain_take_the_fetch_structures_session_run_takes():
    """sg.compile({'l': loss}) said 'can only compile Nodes, got str: l' (it read the dict's
    keys), while Session.run takes dicts (found by a bug hunt). The Program's fetches are
    the Nodes in order: a dict's values, in its order."""
    x = sg.Placeholder((None, 2), name="x")
    loss = sg.sum(x * x)
    program = sg.compile({"loss": loss, "more": [x, (loss,)]}, feeds={x: np.ones((3, 2), "float32")})
    values, _ = program.run({x: np.ones((3, 2), "float32")}, {})
    assert [np.shape(v) for v in values] == [(), (3, 2), ()] and values[0] == 6.0
    assert len(sg.explain({"loss": loss}, feeds=[x])) > 1
    with pytest.raises(sg.FetchError, match="got str: 'oops'"):
        sg.compile({"loss": "oops"})
