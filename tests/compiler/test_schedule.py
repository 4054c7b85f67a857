"""Scheduling: a deterministic run order, and liveness that frees what is no longer read.

Tests of the schedule itself compile with `disable="all"`, so that no pass
(fusion, CSE, ...) changes the instructions they look at.
"""

from __future__ import annotations

import numpy as np

import symgraph as sg


def _build_model():
    x = sg.Placeholder((None, 4), name="x")
    with sg.name_scope("dense"):
        W = sg.Variable(np.ones((4, 3), dtype=np.float32), name="W")
        b = sg.Variable(np.zeros(3, dtype=np.float32), name="b")
        h = sg.tanh(x @ W + b)
    loss = sg.mean(h * h)
    grads = sg.gradients(loss, [W, b])
    return loss, grads


def test_same_graph_gives_the_same_listing_every_time():
    loss, grads = _build_model()
    assert str(sg.compile([loss, *grads])) == str(sg.compile([loss, *grads]))


def test_two_identical_graphs_built_separately_give_the_same_listing():
    listings = []
    for _ in range(2):
        with sg.Graph().as_default():
            loss, grads = _build_model()
            listings.append(str(sg.compile([loss, *grads])))
    assert listings[0] == listings[1]


def test_run_order_respects_dependencies_and_breaks_ties_by_creation_order():
    x = sg.Placeholder((2,), name="x")
    a = sg.exp(x, name="a")
    b = sg.tanh(x, name="b")  # independent of a: created later, so runs later
    c = sg.add(b, a, name="c")
    program = sg.compile(c, disable="all")
    assert [inst.name for inst in program.instructions] == ["a", "b", "c"]


def _frees(program):
    """{slot: name of the instruction after which it is freed}"""
    return {s: inst.name for inst in program.instructions for s in inst.free}


def test_liveness_frees_an_intermediate_after_its_last_reader():
    x = sg.Placeholder((2,), name="x")
    a = sg.exp(x, name="a")
    b = sg.tanh(a, name="b")
    c = sg.mul(a, b, name="c")  # the last reader of a and b
    d = sg.sum(c, name="d")
    program = sg.compile(d, disable="all")
    slot = {inst.name: inst.out for inst in program.instructions}
    frees = _frees(program)
    assert frees[slot["a"]] == "c" and frees[slot["b"]] == "c" and frees[slot["c"]] == "d"
    assert slot["d"] not in frees


def test_fetched_values_and_new_variable_values_are_never_freed():
    x = sg.Placeholder((2,), name="x")
    v = sg.Variable(np.zeros(2, dtype=np.float32), name="v")
    a = sg.exp(x, name="a")
    b = sg.tanh(a, name="b")
    new_v = sg.add(v, b, name="new_v")
    update = sg.assign(v, new_v)
    # a and b are fetched, though also read later
    program = sg.compile([a, b, update], disable="all")
    freed = set(_frees(program))
    slot = {inst.name: inst.out for inst in program.instructions}
    assert slot["a"] not in freed and slot["b"] not in freed
    assert slot[update.name] not in freed
    with sg.Session() as sess:
        va, vb, none = sess.run([a, b, update], {x: [0.0, 1.0]})
        np.testing.assert_allclose(va, np.exp([0.0, 1.0]), rtol=1e-6)
        np.testing.assert_allclose(vb, np.tanh(np.exp([0.0, 1.0])), rtol=1e-6)
        assert none is None
        np.testing.assert_allclose(sess.run(v), vb)


def test_leaves_are_loaded_not_run():
    x = sg.Placeholder((2,), name="x")
    v = sg.Variable(np.ones(2, dtype=np.float32), name="v")
    y = (x + v) * np.float32(3.0)
    program = sg.compile(y, disable="all")
    assert [node for _, node in program.feeds] == [x]
    assert [var for _, var in program.variables] == [v]
    assert len(program.constants) == 1
    assert [inst.op.name for inst in program.instructions] == ["add", "mul"]
