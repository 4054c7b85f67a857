"""prune: keep only what the fetches and updates need, report the rest as removed."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from _ir import snapshot
from symgraph.compiler import compile_steps
from symgraph.compiler.ir import lower
from symgraph.compiler.passes import prune


def names(ir):
    return sorted(d["name"] for _, d in ir.nodes(data=True))


def _two_outputs():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    shared = sg.exp(x, name="shared")
    y = sg.tanh(shared, name="y")
    z = sg.sigmoid(shared * 2.0, name="z")
    return x, y, z


def test_a_freshly_lowered_ir_needs_no_pruning():
    _, y, z = _two_outputs()
    ir = lower([y, z])
    new, report = prune(ir)
    assert not report.changed
    assert str(report) == "prune: no change"
    assert names(new) == names(ir)


def test_vertices_no_fetch_needs_are_removed_and_named():
    _, y, z = _two_outputs()
    ir = lower([y, z])
    ir.graph["fetches"] = [y.id]  # z is no longer asked for
    new, report = prune(ir)
    removed = {c.name for c in report.changes}
    assert removed == {"z", "mul", "Const"}  # z, its mul and the weak constant 2.0
    assert {c.kind for c in report.changes} == {"removed"}
    assert {c.rule for c in report.changes} == {"not needed by any fetch"}
    assert names(new) == ["shared", "x", "y"]  # the shared exp stays: y needs it
    assert sorted(new.edges) == sorted((u, v) for u, v in ir.edges if v in new and u in new)


def test_update_inputs_are_kept_even_when_not_fetched():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    w = sg.Variable(np.zeros(3), name="w")
    loss = sg.sum(x * w, name="loss")
    step = sg.assign(w, w + 1.0, name="step")
    ir = lower([loss, step])
    ir.graph["fetches"] = []  # only the update is left to do
    new, report = prune(ir)
    assert "step" in names(new) and "add" in names(new)
    assert {c.name for c in report.changes} == {"loss", "mul", "x"}


def test_the_input_ir_is_not_changed():
    _, y, z = _two_outputs()
    ir = lower([y, z])
    ir.graph["fetches"] = [y.id]
    before = snapshot(ir)
    new, _ = prune(ir)
    assert snapshot(ir) == before
    assert new is not ir


def test_in_place_mode_edits_the_ir_it_was_given():
    """A Session keeps no steps, so the passes may edit the IR directly (ir.graph['in_place'])."""
    _, y, z = _two_outputs()
    ir = lower([y, z])
    ir.graph["fetches"] = [y.id]
    ir.graph["in_place"] = True
    new, report = prune(ir)
    assert new is ir and "z" not in names(ir)
    assert len(report.changes) == 3


def test_a_fed_node_cuts_off_what_computes_it():
    x, y, _ = _two_outputs()
    shared = y.inputs[0]
    program, _ = compile_steps(y, [shared])
    assert [inst.name for inst in program.instructions] == ["y"]  # exp(x) is not computed
    assert [node.name for _, node in program.feeds] == ["shared"]
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {shared: [0.0, 1.0, 2.0]}), np.tanh([0.0, 1.0, 2.0]))
    assert x not in [node for _, node in program.feeds]
