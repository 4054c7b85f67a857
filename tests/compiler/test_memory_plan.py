"""The memory plan: results written into reused buffers, never one a live value can
still see into; Variables and fetched values unaffected by reuse; the byte counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.graph import make_node
from symgraph.ops.base import REGISTRY


@pytest.fixture(autouse=True)
def _swap_every_new_value(monkeypatch):
    """The Session copies a small new Variable value instead of taking its block
    (SWAP_ABOVE_BYTES); these tests' Variables are small, and the swap is what they test."""
    monkeypatch.setattr("symgraph.session.SWAP_ABOVE_BYTES", 0)


def check_plan(program):
    """No instruction writes into memory that a value still alive may point into,
    and no work array overlaps a value alive while its instruction runs.

    An independent replay of the plan: a value sees the part of a buffer its view
    covers, (buffer, first element, end); a reshape of it, or a slice of its rows,
    sees just that part of it; any other op that may return a view sees every part
    its inputs see. A value is alive from its instruction until the one that frees it
    (fetched values: to the end). Two overlaps are allowed: a concat whose parts were
    written in place covers those parts, which is the point; and an elementwise
    instruction may write exactly over an input it reads for the last time.
    """
    views = program.memory.views if program.memory else []
    shapes = {inst.out: inst.shape for inst in program.instructions}
    sees, live = {}, set()
    for inst in program.instructions:
        if inst.buffer is not None:
            block, offset, shape, _ = views[inst.view]
            mine = (block, offset, offset + int(np.prod(shape, dtype=np.int64)))
            if not inst.in_place:
                for slot in live:  # the instruction's own inputs are still alive here
                    for seen in sees[slot]:
                        over_dying_input = slot in inst.args and slot in inst.free and seen == mine
                        assert not overlap(seen, mine) or over_dying_input, (
                            f"{inst.name} writes into buf{block}[{mine[1]}:{mine[2]}], which "
                            f"{program.names[slot]} may still point into"
                        )
            sees[inst.out] = {mine}
        elif getattr(inst.op, "fresh_output", False):
            sees[inst.out] = set()
        else:
            sees[inst.out] = _seen_by_view(inst, sees, shapes)
        live.add(inst.out)
        if inst.scratch is not None:  # a work array: apart from every value alive meanwhile
            block, offset, shape, _ = views[inst.scratch]
            work = (block, offset, offset + int(np.prod(shape, dtype=np.int64)))
            for slot in live:  # its inputs, and its own result
                for seen in sees[slot]:
                    assert not overlap(work, seen), (
                        f"{inst.name}'s work array buf{block}[{work[1]}:{work[2]}] overlaps "
                        f"{program.names[slot]}"
                    )
        live.difference_update(inst.free)


def _seen_by_view(inst, sees, shapes):
    """What a view op's result may see: exactly its part for a reshape, or a slice of
    rows, of a value that sees one run of a buffer; else all its inputs see."""
    everything = set().union(*(sees.get(a, set()) for a in inst.args))
    source = inst.args[0] if inst.args else None
    if len(sees.get(source, ())) != 1 or source not in shapes:
        return everything
    ((block, first, end),) = sees[source]
    if inst.op.name == "reshape":
        return {(block, first, end)}
    index = inst.attrs.get("index", ()) if inst.op.name == "getitem" else ()
    rest_whole = all(item == ("slice", None, None, None) for item in index[1:])
    if not index or not rest_whole or not shapes[source]:
        return everything
    rows = shapes[source][0]
    row = (end - first) // rows
    item = index[0]
    if isinstance(item, int):
        start, stop = item % rows, item % rows + 1
    elif isinstance(item, tuple) and item[3] in (None, 1):
        start, stop, _ = slice(*item[1:]).indices(rows)
    else:
        return everything
    return {(block, first + start * row, first + max(start, stop) * row)}


def region(program, inst):
    """(buffer, first element, end) of the memory an instruction writes into."""
    buffer, offset, shape, _ = program.memory.views[inst.view]
    return buffer, offset, offset + int(np.prod(shape, dtype=np.int64))


def overlap(a, b) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def same_as_plain(fetches, feed, runs=2):
    with sg.Session() as a, sg.Session(disable="all") as b:
        for _ in range(runs):
            for got, want in zip(a.run(fetches, feed), b.run(fetches, feed)):
                np.testing.assert_allclose(got, want, rtol=1e-12)


def _chain(length=12, size=1000):
    x = sg.Placeholder((size,), dtype="float64", name="x")
    y = x
    for i in range(length):
        y = sg.tanh(y) if i % 2 else y * 0.5
    return x, y


# -- reuse ---------------------------------------------------------------------------------------
def test_a_chain_of_same_shape_ops_is_computed_in_one_region_without_fusion():
    x, y = _chain()
    program = sg.compile(y, {x: np.zeros(1000)}, disable=["fuse"])
    assert len(program.instructions) == 12
    # each result is written over the one before it, which nothing reads after it
    assert program.memory.buffers == [((1000,), np.dtype("float64"))]
    assert {region(program, i) for i in program.instructions} == {(0, 0, 1000)}
    assert program.memory.peak_bytes == 8000 == program.memory.buffer_bytes
    assert program.memory.naive_bytes == 12 * 8000
    check_plan(program)
    same_as_plain([y], {x: np.linspace(-3, 3, 1000)})


def test_fused_the_same_chain_needs_one_buffer():
    x, y = _chain()
    program = sg.compile(y, {x: np.zeros(1000)})
    assert len(program.instructions) == 1 and len(program.memory.buffers) == 1


def test_an_arena_holds_values_of_one_dtype_and_any_shape_that_fits():
    x = sg.Placeholder((4, 5), dtype="float64", name="x")
    a = sg.exp(x, name="a")  # (4, 5) float64
    b = sg.sum(a, axis=0, name="b")  # (5,): a dies here
    # (5,): fits where a was (b is read again, so tanh(b) cannot be written over b)
    c = sg.add(sg.tanh(b) * 2.0, b, name="c")
    d = sg.tanh(sg.cast(c, "float32"), name="d")  # float32: never in a float64 buffer
    program = sg.compile([d], {x: np.zeros((4, 5))}, disable=["fuse"])
    at = {}
    for inst in program.instructions:
        if inst.buffer is None:
            continue
        (size,), dtype = program.memory.buffers[inst.buffer]
        assert dtype == inst.dtype
        buffer, start, end = region(program, inst)
        assert buffer == inst.buffer and end <= size
        assert start % 8 == 0  # 64-byte aligned: 8 float64 or 16 float32
        at[inst.name] = (buffer, start, end)
    assert overlap(at["c"], at["a"])  # a (5,) value in memory a (4, 5) one had
    assert at["d"][0] != at["a"][0]  # float32 lives in a buffer of its own dtype
    check_plan(program)
    same_as_plain([d], {x: np.linspace(-1, 1, 20).reshape(4, 5)})


def test_a_block_grows_to_the_largest_value_it_holds():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    small = sg.exp(x)  # (3,)
    big = sg.tanh(sg.reshape(sg.concat([small, small, small, small]), (2, 6)))  # (2, 6) later
    program = sg.compile([sg.sum(big)], {x: np.zeros(3)}, disable=["fuse"])
    sizes = [size for (size,), _ in program.memory.buffers]
    assert program.memory.buffer_bytes == 8 * sum(sizes)
    check_plan(program)
    same_as_plain([sg.sum(big)], {x: np.array([0.1, 0.2, 0.3])})


def test_a_new_variable_value_gets_a_block_of_exactly_its_size():
    # the Session hands that whole block to the Variable (Program.swap_buffer)
    x = sg.Placeholder((8,), dtype="float64", name="x")
    w = sg.Variable(np.linspace(0.1, 0.5, 4), name="w")
    wide = sg.exp(x)  # a bigger float64 value, dead before the update is computed
    loss = sg.sum(sg.tanh(sg.reshape(wide, (2, 4)) * w))
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    program = sg.compile([loss, train], {x: np.zeros(8)})
    update_slots = {slot for _, slot in program.updates}
    new_values = {i.args[-1] for i in program.instructions if i.out in update_slots}
    checked = 0
    for inst in program.instructions:
        if inst.out in new_values and inst.buffer is not None:
            (size,), _ = program.memory.buffers[inst.buffer]
            assert size == int(np.prod(inst.shape))
            checked += 1
    assert checked == 1
    with sg.Session() as a, sg.Session(disable="all") as b:
        for step in range(4):
            feed = {x: np.linspace(-1, 1, 8) * (step + 1)}
            np.testing.assert_allclose(a.run([loss, train], feed)[0], b.run([loss, train], feed)[0])
        np.testing.assert_allclose(a.run(w), b.run(w), rtol=1e-12)


# -- views -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", ["transpose", "reshape", "getitem", "transpose of reshape"])
def test_a_buffer_is_not_handed_out_while_a_view_of_it_is_alive(view):
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    base = sg.exp(x, name="base")  # gets a buffer; its last direct reader is the view
    make = {
        "transpose": lambda v: sg.transpose(v),
        "reshape": lambda v: sg.reshape(v, (4, 3)),
        "getitem": lambda v: v[1:, :],
        "transpose of reshape": lambda v: sg.transpose(sg.reshape(v, (4, 3))),
    }[view]
    seen = make(base)
    other = sg.tanh(x, name="other") * 3.0  # (3, 4) like base: would take base's buffer
    total = sg.sum(other, name="total")
    late = sg.add(total, seen, name="late")  # the view is read only now
    fetches = [late]
    program = sg.compile(fetches, {x: np.zeros((3, 4))}, disable=["fuse"])
    at = {inst.name: region(program, inst) for inst in program.instructions if inst.buffer is not None}
    assert "base" in at
    assert not overlap(at["other"], at["base"]) and not overlap(at["mul"], at["base"])
    check_plan(program)
    same_as_plain(fetches, {x: np.arange(12.0).reshape(3, 4) / 10})
    # and with fusion on
    check_plan(sg.compile(fetches, {x: np.zeros((3, 4))}))


def test_the_ops_that_return_views_say_so():
    views = {name for name, op in REGISTRY.items() if op.returns_view}
    assert views == {
        "reshape", "transpose", "getitem", "squeeze", "expand_dims", "broadcast_to", "concat_part",
        "stop_gradient",
    }
    # and each of them does return a view of its first input: no memory of its own
    x = np.arange(24.0).reshape(2, 3, 4)
    args = {
        "reshape": ((x,), {"shape": (6, 4)}),
        "transpose": ((x,), {"axes": None}),
        "getitem": ((x,), {"index": (0, slice(1, 3))}),
        "squeeze": ((x[:1],), {"axis": (0,)}),
        "expand_dims": ((x,), {"axis": 1}),
        "broadcast_to": ((x[:1],), {"shape": (5, 3, 4)}),
        "concat_part": ((x, x[:1], x[1:]), {"index": 1, "axis": 0}),
        "stop_gradient": ((x,), {}),
    }
    for name in views:
        arrays, attrs = args[name]
        assert np.shares_memory(REGISTRY[name]().forward(*arrays, **attrs), x), name


class _FirstRow(sg.Op):
    """A user's op whose kernel returns a view of its input, and says so."""

    name = "test_first_row"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    returns_view = True

    def infer(self, x):
        return x.shape[1:], x.dtype

    def forward(self, x):
        return x[0]


def test_a_users_op_that_returns_a_view_costs_no_bytes_and_keeps_its_input_alive():
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    base = sg.exp(x, name="base")
    row = make_node(_FirstRow(), (base,), name="row")
    again = sg.tanh(x, name="again")  # runs while row, a view of base, is still to be read
    y = sg.add(sg.sum(row, name="first"), sg.sum(again, name="second"), name="y")
    program = sg.compile([y], {x: np.zeros((3, 4))}, disable=["fuse"])
    # a view costs no memory of its own: the plan counts no bytes for it
    assert "row" not in {name for *_, name in program.memory.intervals}
    assert "base" in {name for *_, name in program.memory.intervals}
    at = {i.name: region(program, i) for i in program.instructions if i.buffer is not None}
    assert not overlap(at["again"], at["base"])  # base stays alive while its view is
    check_plan(program)
    same_as_plain([y], {x: np.arange(12.0).reshape(3, 4) / 10})


def test_once_the_view_is_dead_the_buffer_is_reused():
    x = sg.Placeholder((3, 4), dtype="float64", name="x")
    base = sg.exp(x, name="base")
    seen = sg.transpose(base, name="seen")
    first = sg.sum(seen, name="first")  # the last reader of the view
    again = sg.tanh(x, name="again")  # (3, 4): may now take base's buffer
    y = sg.add(again, first, name="y")
    program = sg.compile([y], {x: np.zeros((3, 4))}, disable=["fuse"])
    at = {inst.name: region(program, inst) for inst in program.instructions if inst.buffer is not None}
    assert at["again"] == at["base"]
    check_plan(program)
    same_as_plain([y], {x: np.arange(12.0).reshape(3, 4)})


# -- values that leave the run ------------------------------------------------------------------
def _mlp(momentum):
    sg.nn.init.seed(3)
    x = sg.Placeholder((None, 5), dtype="float64", name="x")
    labels = sg.Placeholder((None,), dtype="int64", name="labels")
    model = sg.nn.Sequential(
        sg.nn.Linear(5, 8, dtype="float64"), sg.nn.Tanh(), sg.nn.Linear(8, 3, dtype="float64")
    )
    loss = sg.softmax_cross_entropy(model(x), labels)
    train = sg.optim.SGD(lr=0.5, momentum=momentum).minimize(loss)
    return x, labels, loss, train


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_training_three_steps_gives_the_same_variables_as_the_plain_run(momentum):
    x, labels, loss, train = _mlp(momentum)
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)) for _ in range(3)]
    variables = sg.get_default_graph().variables
    results = []
    for disable in ((), "all"):
        with sg.Session(disable=disable) as sess:
            losses = [sess.run([loss, train], {x: xb, labels: yb})[0] for xb, yb in batches]
            results.append((losses, [sess.run(v) for v in variables]))
            program = next(iter(sess._programs.values()))
            check_plan(program)
            for var in variables:  # the Session's values are its own, not planned buffers
                own = sess._values[var]
                assert not any(np.may_share_memory(own, b) for b in program._views or [])
    (losses_opt, vars_opt), (losses_plain, vars_plain) = results
    np.testing.assert_allclose(losses_opt, losses_plain, rtol=1e-12)
    assert losses_opt[2] < losses_opt[0]  # it trains
    for a, b in zip(vars_opt, vars_plain):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_fetched_array_stays_valid_after_later_runs():
    x = sg.Placeholder((4,), dtype="float64", name="x")
    y = sg.tanh(sg.exp(x) * 2.0)
    z = sg.transpose(sg.reshape(y * 3.0, (2, 2)))  # a view of a buffer, fetched
    with sg.Session() as sess:
        first_y, first_z = sess.run([y, z], {x: np.zeros(4)})
        kept_y, kept_z = first_y.copy(), first_z.copy()
        sess.run([y, z], {x: np.ones(4)})
        sess.run([y, z], {x: -np.ones(4)})
    np.testing.assert_array_equal(first_y, kept_y)
    np.testing.assert_array_equal(first_z, kept_z)


def test_a_variables_value_fetched_earlier_is_not_changed_by_later_updates():
    w = sg.Variable(np.zeros(3), name="w")
    step = sg.assign(w, sg.tanh(w + 1.0) * 2.0)
    with sg.Session() as sess:
        before = sess.run(w)
        sess.run(step)
        after_one = sess.run(w)
        sess.run(step)
    np.testing.assert_array_equal(before, np.zeros(3))
    np.testing.assert_allclose(after_one, np.tanh(np.ones(3)) * 2.0)


def test_a_variable_fetched_with_its_update_answers_its_old_value():
    """Variables are updated in place at commit: the answer was copied out before that."""
    w = sg.Variable(np.zeros(3), name="w")
    step = sg.assign(w, w * 2.0 + 1.0)
    with sg.Session() as sess:
        answers = [sess.run([w, step])[0] for _ in range(3)]
        np.testing.assert_array_equal(sess.run(w), [7.0, 7.0, 7.0])
    np.testing.assert_array_equal(answers, [[0.0] * 3, [1.0] * 3, [3.0] * 3])


# -- figures ------------------------------------------------------------------------------------
def test_peak_bytes_never_exceed_naive_bytes_and_match_the_live_intervals():
    x, labels, loss, train = _mlp(0.9)
    program = sg.compile([loss, train], {x: np.zeros((32, 5)), labels: np.zeros(32, "int64")})
    memory = program.memory
    assert 0 < memory.peak_bytes <= memory.naive_bytes
    assert memory.buffer_bytes <= memory.naive_bytes
    live_at = [0] * (len(program.instructions) + 1)
    for start, end, size, name in memory.intervals:
        assert 0 <= start <= end <= len(program.instructions) and size > 0 and name
        for pos in range(start, min(end, len(program.instructions) - 1) + 1):
            live_at[pos] += size
    assert max(live_at) == memory.peak_bytes


def test_stats_name_the_figures():
    x, y = _chain(4, 10)
    stats = sg.compile(y, {x: np.zeros(10)}).stats()
    assert set(stats) == {
        "instructions",
        "nodes",
        "ops",
        "flops",
        "peak_bytes",
        "naive_bytes",
        "buffer_bytes",
        "buffers",
    }
    assert stats["instructions"] == 1 and stats["ops"] == {"fused": 1}
    # 10 float64 are 80 bytes, and a region is rounded up to 64-byte lines: 128
    assert stats["buffer_bytes"] == 128 and stats["buffers"] == 1


def test_unknown_shapes_get_no_buffer_and_still_run():
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    y = sg.tanh(x * 2.0) + x
    program = sg.compile(y, [x])  # no shapes given: nothing to plan
    assert all(inst.buffer is None for inst in program.instructions)
    assert program.memory.buffers == []
    fetched, _ = program.run({x: np.ones((2, 3))}, {})
    np.testing.assert_allclose(fetched[0], np.tanh(2.0) + 1.0)


# -- concatenations whose parts are written in place ------------------------------------------------
def test_the_parts_of_a_stack_are_computed_straight_into_it():
    x = sg.Placeholder((4, 3), dtype="float64", name="x")
    w = sg.Variable(np.linspace(-1, 1, 9).reshape(3, 3), name="w")
    h, states = x, []
    for _ in range(5):  # an RNN's hidden states, stacked for one output layer
        h = sg.tanh(h @ w)
        states.append(h)
    stacked = sg.stack(states)
    loss = sg.sum(stacked * stacked)
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    program = sg.compile([loss, train], {x: np.zeros((4, 3))})
    (stack,) = [i for i in program.instructions if i.op.name == "stack"]
    assert stack.in_place and "(parts written in place)" in stack.listing()
    assert f"v{stack.out} = b{stack.view}" in program.source  # no call: nothing to copy
    parts = {i.out: i for i in program.instructions if i.out in stack.args}
    start = region(program, stack)[1]
    offsets = [region(program, parts[a])[1] - start for a in stack.args]
    assert {parts[a].buffer for a in stack.args} == {stack.buffer}
    assert offsets == [0, 12, 24, 36, 48]  # end to end, 4 x 3 elements each
    check_plan(program)
    feed = {x: np.linspace(-2, 2, 12).reshape(4, 3)}
    with sg.Session() as a, sg.Session(disable="all") as b:
        for _ in range(3):  # the buffers are reused from the second run on
            np.testing.assert_allclose(a.run([loss, train], feed)[0], b.run([loss, train], feed)[0],
                                       rtol=1e-12)
        np.testing.assert_allclose(a.run(w), b.run(w), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.run(stacked, feed), b.run(stacked, feed), rtol=1e-11, atol=1e-13)


def test_a_part_is_placed_in_one_concat_only_and_feeds_are_copied():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    a = sg.exp(x)
    b = sg.tanh(x)
    first = sg.concat([a, b])  # claims a and b
    second = sg.concat([b, a])  # a and b are taken: this one copies
    third = sg.concat([a * 2.0, x])  # x is a feed: copied, so this one copies too
    fetches = [sg.sum(first * 1.5) + sg.sum(second * second) + sg.sum(third)]
    program = sg.compile(fetches, {x: np.zeros((2, 3))})
    in_place = [i.in_place for i in program.instructions if i.op.name == "concat"]
    assert in_place == [True, False, False]
    check_plan(program)
    same_as_plain(fetches, {x: np.arange(6.0).reshape(2, 3) / 4})


def test_peak_bytes_count_a_concat_in_place_once():
    x = sg.Placeholder((1000,), dtype="float64", name="x")
    parts = [sg.exp(x * float(i)) for i in range(4)]
    total = sg.sum(sg.concat(parts))
    program = sg.compile(total, {x: np.zeros(1000)})
    (concat,) = [i for i in program.instructions if i.op.name == "concat"]
    assert concat.in_place
    # the four parts live in the concat's block: 32,000 bytes, not 64,000 (+ 8: the sum)
    assert program.memory.peak_bytes == 4 * 8000 + 8
    same_as_plain([total], {x: np.linspace(0, 0.001, 1000)})


# -- the arena: regions at offsets, free neighbours joined -------------------------------------------
def test_freed_neighbours_join_into_one_region_a_bigger_value_can_take():
    from symgraph.compiler.arena import Arena as _Arena

    arena = _Arena(8)  # float64: regions of whole 64-byte lines, 8 elements
    a, b, c = arena.take(8), arena.take(8), arena.take(8)
    assert (a, b, c) == (0, 8, 16) and arena.size == 24
    arena.give_back(a, 8)
    arena.give_back(b, 8)  # joins a: one free region of 16 at 0
    assert arena.take(16) == 0 and arena.size == 24  # fits there: the arena does not grow


def test_the_smallest_free_region_that_fits_is_taken_and_the_rest_stays_free():
    from symgraph.compiler.arena import Arena as _Arena

    arena = _Arena(8)
    big, _, small, _ = arena.take(32), arena.take(8), arena.take(16), arena.take(8)  # _: kept
    arena.give_back(big, 32)
    arena.give_back(small, 16)
    assert arena.take(8) == small  # the 16-element hole, not the 32-element one
    assert arena.take(8) == small + 8  # the rest of that hole
    assert arena.take(24) == big and arena.size == 64


def test_a_free_region_at_the_end_grows_instead_of_a_new_one():
    from symgraph.compiler.arena import Arena as _Arena

    arena = _Arena(4)  # float32: 16 elements a line
    first = arena.take(16)
    last = arena.take(16)
    arena.give_back(last, 16)
    assert arena.take(48) == last and arena.size == first + 16 + 48


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=60))
def test_live_regions_never_overlap_and_the_free_list_stays_whole(steps):
    from symgraph.compiler.arena import Arena as _Arena

    arena = _Arena(8)
    live = []  # (offset, elements asked)
    for take, n in steps:
        if take or not live:
            offset = arena.take(n)
            assert offset % 8 == 0
            live.append((offset, n))
        else:
            arena.give_back(*live.pop(n % len(live)))
        spans = sorted((o, o + arena.rounded(n)) for o, n in live if n)
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
        assert all(end <= arena.size for _, end in spans)
        free = sorted((o, o + n) for o, n in arena.length.items())
        # free regions: sorted both ways, never touching each other, never over a live one
        assert arena.starts == [o for o, _ in free]
        assert arena.by_size == sorted((n, o) for o, n in arena.length.items())
        assert all(end < start for (_, end), (start, _) in zip(free, free[1:]))
        assert not any(a < d and c < b for a, b in free for c, d in spans)


# -- work arrays ------------------------------------------------------------------------------
def _embedding_model():
    """Ids -> embedding rows -> scores -> cross-entropy: both ops with a work array."""
    rng = np.random.default_rng(3)
    table = sg.Variable(rng.normal(size=(9, 40)), name="table")
    w = sg.Variable(rng.normal(size=(40, 70)) * 0.3, name="w")
    ids = sg.Placeholder((None,), dtype="int64", name="ids")
    labels = sg.Placeholder((None,), dtype="int64", name="labels")
    loss = sg.softmax_cross_entropy(sg.embedding_lookup(table, ids) @ w, labels)
    feed = {ids: rng.integers(0, 9, size=50), labels: rng.integers(0, 70, size=50)}
    return table, w, loss, feed


@pytest.mark.parametrize("with_gradients", [False, True])
def test_a_kernels_work_array_is_a_planned_region_apart_from_live_values(with_gradients):
    with sg.Graph().as_default():
        table, w, loss, feed = _embedding_model()
        fetches = [loss, *sg.gradients(loss, [table, w])] if with_gradients else [loss]
        program = sg.compile(fetches, feed)
        working = [inst for inst in program.instructions if inst.scratch is not None]
        # with its gradient fetched too, share_softmax replaces the loss by ops that
        # need no work array
        expected = {"embedding_grad"} if with_gradients else {"softmax_cross_entropy"}
        assert {inst.op.name for inst in working} == expected
        check_plan(program)
        for inst in working:
            buffer, first, end = inst.scratch_span
            assert f"work buf{buffer}[{first}:{end}]" in inst.listing()
            assert f"scratch=b{inst.scratch}" in program.source
        for _ in range(3):
            program.run(feed, {table: table.initial_value, w: w.initial_value})
        for inst in working:  # the planned array was used, not the kernel's own
            assert inst.kernel.keywords["scratch"].array is None
        same_as_plain(fetches, feed, runs=3)


def test_the_plan_counts_a_work_array_for_the_instruction_that_uses_it():
    with sg.Graph().as_default():
        _, _, loss, feed = _embedding_model()
        program = sg.compile([loss], feed)
    (inst,) = [i for i in program.instructions if i.scratch is not None]
    position = program.instructions.index(inst)
    work = [(start, end, size) for start, end, size, name in program.memory.intervals
            if name.endswith("(work array)")]
    assert work == [(position, position, 50 * 70 * 8)]


def test_without_known_shapes_a_kernel_keeps_its_own_work_array():
    with sg.Graph().as_default():
        _, _, loss, feed = _embedding_model()
        program = sg.compile([loss])  # no feeds: the batch size is unknown, nothing planned
        (inst,) = [i for i in program.instructions if i.op.name == "softmax_cross_entropy"]
        assert inst.scratch is None and "work buf" not in inst.listing()
        with sg.Session() as sess:
            want = sess.run(loss, feed)
        assert program.run(feed, {v: v.initial_value for _, v in program.variables})[0][0] == want
        assert inst.kernel.keywords["scratch"].array.shape == (50, 70)


# -- written over an input ------------------------------------------------------------------------
def test_a_result_is_not_written_over_an_input_a_live_view_still_shows():
    x = sg.Placeholder((6, 5), dtype="float64", name="x")
    a = sg.exp(x, name="a")
    seen = sg.transpose(a, name="seen")  # a view of a, read after b is made
    b = sg.tanh(a, name="b")  # a's last reader: but `seen` still shows a's memory
    total = sg.add(sg.sum(b), sg.sum(seen), name="total")
    program = sg.compile([total], {x: np.zeros((6, 5))}, disable=["fuse"])
    at = {inst.name: region(program, inst) for inst in program.instructions if inst.buffer is not None}
    assert not overlap(at["a"], at["b"])
    check_plan(program)
    same_as_plain([total], {x: np.linspace(-1, 1, 30).reshape(6, 5)})


def test_a_fused_kernel_that_writes_its_output_before_reading_an_input_is_not_put_over_it():
    x = sg.Placeholder((40, 20), dtype="float64", name="x")
    w = sg.Variable(np.linspace(-1, 1, 600).reshape(20, 30), name="w")
    g = sg.matmul(x, w, name="g")  # in a buffer, and read by y only
    h = sg.tanh(x @ w, name="h")
    y = sg.mul(g, 1.0 - h * h, name="y")  # fused: h*h, 1 - that, then g times it
    fetches = [y, sg.sum(h, name="h_again")]  # h lives on: only g could be written over
    program = sg.compile(fetches, {x: np.zeros((40, 20))})
    by_name = {inst.name: inst for inst in program.instructions}
    fused = by_name["y"]
    assert fused.op.name == "fused" and fused.attrs["steps"][0][3] == 0  # writes out first
    assert region(program, fused) != region(program, by_name["g"])
    check_plan(program)
    same_as_plain(fetches, {x: np.linspace(-2, 2, 800).reshape(40, 20)})


class _Axpy(sg.Op):
    """2 * a + b. It reads a[i] before it writes out[i], so out may be a's memory
    (writes_over); b it reads after, so out must not be b's."""

    name = "test_axpy"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    elementwise = True
    writes_out = True
    writes_over = (0,)

    def infer(self, a, b):
        return a.shape, a.dtype

    def forward(self, a, b, out=None):
        out = np.multiply(a, 2.0, out=out)
        return np.add(out, b, out=out)


@pytest.mark.parametrize("options", [{"disable": "all"}, {"debug": True}, {}])
def test_a_value_read_at_two_positions_is_written_over_only_if_both_allow_it(options):
    """axpy(t, t) promises to read a before writing, not b: with t's memory as out it
    read b = 2t and gave 4t (found by a bug hunt)."""
    x = sg.Placeholder((4,), dtype="float64", name="x")
    t = sg.tanh(x)
    y = make_node(_Axpy(), (t, t))
    data = np.linspace(-1, 1, 4)
    with sg.Session(**options) as sess:
        for _ in range(3):
            np.testing.assert_allclose(sess.run(y, {x: data}), 3 * np.tanh(data), rtol=1e-12)


def _rnn_with_stacked_states(steps=8, batch=4, hidden=40, vocab=9):
    rng = np.random.default_rng(6)
    wx = sg.Variable(rng.normal(size=(vocab, hidden)) * 0.3, name="Wx")
    wh = sg.Variable(rng.normal(size=(hidden, hidden)) * 0.3, name="Wh")
    wo = sg.Variable(rng.normal(size=(hidden, vocab)) * 0.3, name="Wo")
    xs = [sg.Placeholder((batch, vocab), dtype="float64", name=f"x{t}") for t in range(steps)]
    labels = sg.Placeholder((steps * batch,), dtype="int64", name="labels")
    h = sg.Constant(np.zeros((batch, hidden)))
    states = []
    for t in range(steps):
        h = sg.tanh(xs[t] @ wx + h @ wh)
        states.append(h)
    loss = sg.softmax_cross_entropy(sg.reshape(sg.stack(states), (-1, hidden)) @ wo, labels)
    feeds = {x: rng.normal(size=(batch, vocab)) for x in xs}
    feeds[labels] = rng.integers(0, vocab, size=steps * batch)
    return loss, [wx, wh, wo], feeds


def test_the_gradient_terms_concatenation_sits_where_the_states_gradient_was():
    loss, params, feeds = _rnn_with_stacked_states()
    fetches = [loss, *sg.gradients(loss, params)]
    program = sg.compile(fetches, feeds)
    by_name = {inst.name: inst for inst in program.instructions}
    (terms,) = [i for i in program.instructions if i.name.endswith("concat_rhs")]
    dstates = by_name["gradients/matmul_16_grad/matmul"]  # every step's dh, from the output layer
    assert terms.in_place and region(program, terms) == region(program, dstates)
    # each step's term is written over that step's slice of dh; the first one made has
    # no dh_next to add, and gets a register of its own to keep its slice intact
    made_by = {inst.out: inst for inst in program.instructions}
    parts = [made_by[a] for a in terms.args]
    first_made = min(parts, key=program.instructions.index)
    assert all(op_target != 0 for *_, op_target in first_made.attrs["steps"][:-1])
    # the others read their slice first (dh + dh_next), so they need no extra register
    assert sum(part.attrs["steps"][0][3] != 0 for part in parts) == 1
    check_plan(program)
    with sg.Session() as a, sg.Session(disable=["fuse"]) as b:
        for _ in range(2):
            for got, want in zip(a.run(fetches, feeds), b.run(fetches, feeds)):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    same_as_plain(fetches, feeds)


def test_the_terms_are_not_put_over_the_states_gradient_while_it_is_still_wanted():
    """Fetch the gradient of the stacked states too: it must survive the run, so the
    terms' concatenation cannot sit over it."""
    loss, params, feeds = _rnn_with_stacked_states()
    (logits,) = [n for n in loss.inputs if n.op.name == "matmul"]
    stacked = logits.inputs[0]  # reshape(stack(states))
    fetches = [loss, *sg.gradients(loss, [*params, stacked])]
    program = sg.compile(fetches, feeds)
    (terms,) = [i for i in program.instructions if i.name.endswith("concat_rhs")]
    by_name = {inst.name: inst for inst in program.instructions}
    assert not overlap(region(program, terms), region(program, by_name["gradients/matmul_16_grad/matmul"]))
    check_plan(program)
    same_as_plain(fetches, feeds)


def test_a_variables_new_value_is_never_written_over_by_a_later_reader():
    v = sg.Variable(np.arange(4000, dtype=np.float64), name="v")
    new = v - 1.0
    update = sg.assign(v, new)
    tripled = new * 3.0  # reads the new value after the update: its last reader
    with sg.Session() as sess:
        for step in range(1, 4):
            _, got = sess.run([update, tripled])
            np.testing.assert_array_equal(sess.run(v)[:3], np.arange(3) - step)
            np.testing.assert_array_equal(got[:3], (np.arange(3) - step) * 3.0)
    check_plan(sg.compile([update, tripled]))


def _mlp_step(clip=False, fetch_gradient=False):
    """A small classifier's SGD step: (fetches, feeds, the first weight's gradient)."""
    rng = np.random.default_rng(2)
    x = sg.Placeholder((32, 20), dtype="float64", name="x")
    labels = sg.Placeholder((32,), dtype="int64", name="labels")
    w1 = sg.Variable(rng.normal(size=(20, 16)) * 0.3, name="W1")
    w2 = sg.Variable(rng.normal(size=(16, 5)) * 0.3, name="W2")
    loss = sg.softmax_cross_entropy(sg.tanh(x @ w1) @ w2, labels)
    grads = sg.gradients(loss, [w1, w2])
    if clip:  # the norm reads every gradient too
        grads, _ = sg.clip_by_global_norm(grads, 1.0)
    train = sg.optim.SGD(lr=0.1).apply_gradients(zip(grads, [w1, w2]))
    fetches = [loss, train, grads[0]] if fetch_gradient else [loss, train]
    feeds = {x: rng.normal(size=(32, 20)), labels: rng.integers(0, 5, size=32)}
    return fetches, feeds, grads[0]


def _update_and_gradient(program, gradient):
    by_name = {inst.name: inst for inst in program.instructions}
    (update,) = [i for i in program.instructions if i.name == "SGD/sub"]
    return update, by_name[gradient.name]


def test_a_variables_new_value_is_written_over_its_gradient_in_one_buffer():
    """W - lr * dW reads each element of dW before writing it: the gradient gets a
    buffer of its own and the new value goes over it, one buffer for both. Over
    several steps the swap at each commit keeps the values right."""
    fetches, feeds, dw = _mlp_step()
    program = sg.compile(fetches, feeds)
    update, gradient = _update_and_gradient(program, dw)
    assert (update.buffer, update.span) == (gradient.buffer, gradient.span)
    assert program.memory.buffers[update.buffer] == ((20 * 16,), np.dtype("float64"))
    check_plan(program)
    _trains_as_plain(fetches, feeds)


def _trains_as_plain(fetches, feeds, steps=4):
    """Each step's fetched values (but the update's None) and the Variables after it
    are the unoptimized Session's."""
    with sg.Session() as optimized, sg.Session(disable="all") as plain:
        for _ in range(steps):
            got, want = optimized.run(fetches, feeds), plain.run(fetches, feeds)
            for g, w in zip(got, want):
                if w is not None:
                    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
            for var in fetches[0].graph.variables:
                np.testing.assert_allclose(optimized.run(var), plain.run(var), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", ["clipped", "fetched"])
def test_a_gradient_something_else_reads_keeps_its_own_buffer(case):
    """Clipping reads the gradient for the norm as well; a fetched gradient must
    survive the run: the new value then goes into a buffer of its own, apart."""
    fetches, feeds, dw = _mlp_step(clip=case == "clipped", fetch_gradient=case == "fetched")
    program = sg.compile(fetches, feeds)
    (update,) = [i for i in program.instructions if i.name == "SGD/sub"]
    made_by = {inst.out: inst for inst in program.instructions}
    (read,) = [a for a in update.args if made_by.get(a) is not None and made_by[a].shape == update.shape]
    assert (made_by[read].buffer, made_by[read].span) != (update.buffer, update.span)
    check_plan(program)
    _trains_as_plain(fetches, feeds)


def test_a_one_element_result_is_not_written_over_its_input():
    """NumPy is slower writing a one-element result over an input than into new memory."""
    x = sg.Placeholder((1,), dtype="float64", name="x")
    w = sg.Variable(np.array([2.0]), name="w")
    y = sg.add(x * w, 0.5, name="y")
    program = sg.compile([sg.sum(y)], {x: np.array([1.0])})
    by_name = {inst.name: inst for inst in program.instructions}
    assert region(program, by_name["y"]) != region(program, by_name["mul"])
    check_plan(program)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 7), st.integers(1, 5), st.integers(2, 40),
    st.booleans(), st.booleans(), st.booleans(), st.integers(0, 999),
)
# dWh's terms are a run of the concatenation dWx's merge makes, and that merge sits
# after dWh's sum: the merged dWh must still run before what reads the sum (Site.after)
@example(steps=3, batch=1, hidden=2, zero_init=False, stacked_output=False,
         fetch_states_gradient=False, seed=0)
def test_rnns_of_any_shape_planned_over_their_inputs_match_the_plain_run(
    steps, batch, hidden, zero_init, stacked_output, fetch_states_gradient, seed
):
    """RNNs with and without a stacked output layer, a zero or a computed initial state,
    and the states' gradient fetched or not: every way the plan can put results over
    their inputs (and the terms' concatenation over the states' gradient) is checked
    by the plan checker and against the plain executor."""
    rng = np.random.default_rng(seed)
    with sg.Graph().as_default():
        vocab = 7
        wx = sg.Variable(rng.normal(size=(vocab, hidden)) * 0.3, name="Wx")
        wh = sg.Variable(rng.normal(size=(hidden, hidden)) * 0.3, name="Wh")
        b = sg.Variable(rng.normal(size=(hidden,)) * 0.1, name="b")
        wo = sg.Variable(rng.normal(size=(hidden, vocab)) * 0.3, name="Wo")
        xs = [sg.Placeholder((batch, vocab), dtype="float64", name=f"x{t}") for t in range(steps)]
        h = sg.Constant(np.zeros((batch, hidden))) if zero_init else sg.tanh(xs[0] @ wx)
        states = []
        for t in range(steps):
            h = sg.tanh(xs[t] @ wx + h @ wh + b)
            states.append(h)
        rows = steps * batch if stacked_output else batch
        out = sg.reshape(sg.stack(states), (-1, hidden)) if stacked_output else h
        labels = sg.Placeholder((rows,), dtype="int64", name="labels")
        loss = sg.softmax_cross_entropy(out @ wo, labels)
        feeds = {x: rng.normal(size=(batch, vocab)) for x in xs}
        feeds[labels] = rng.integers(0, vocab, size=rows)
        wrt = [wx, wh, b, wo] + ([out] if fetch_states_gradient else [])
        fetches = [loss, *sg.gradients(loss, wrt)]
        check_plan(sg.compile(fetches, feeds))
        with sg.Session() as optimized, sg.Session(disable="all") as plain:
            for _ in range(2):  # the second run reuses the buffers
                for got, want in zip(optimized.run(fetches, feeds), plain.run(fetches, feeds)):
                    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_without_merging_a_weights_gradient_terms_are_freed_as_they_are_added():
    """merge_matmuls off: each step's term of dWh is added to the running sum (autodiff)
    and dropped right after (fuse keeps additions a step apart unfused), so at most two
    are alive at once, not one per step."""
    loss, params, feeds = _rnn_with_stacked_states(steps=8)
    fetches = [loss, *sg.gradients(loss, params)]
    program = sg.compile(fetches, feeds, disable=["merge_matmuls"])
    made_by = {inst.out: inst for inst in program.instructions}
    sums = [i for i in program.instructions if i.name.startswith("gradients/Wh_grad/add")]
    terms = {a for i in sums for a in i.args if a in made_by and made_by[a].op.name == "matmul"}
    assert len(terms) >= 7
    alive, most = set(), 0
    for inst in program.instructions:
        if inst.out in terms:
            alive.add(inst.out)
        most = max(most, len(alive))
        alive.difference_update(inst.free)
    assert most <= 2
    check_plan(program)
    same_as_plain(fetches, feeds)


def test_a_values_bytes_count_while_a_view_of_it_lives():
    """exp(x) freed at its transpose still held its 64 KiB while tanh(x) was made next
    to it: the plan said 80 KiB at its peak, the run used 144 (found by a bug hunt)."""
    x = sg.Placeholder((256, 64), name="x")
    a = sg.exp(x, name="a")  # 64 KiB
    v = sg.transpose(a, name="v")  # a view of a: a's slot dies here, its memory does not
    b = sg.tanh(x, name="b")  # 64 KiB, made while v is alive
    out = sg.sum(v @ b, name="out")  # (64, 64): 16 KiB
    program = sg.compile(out, feeds={x: np.zeros((256, 64), "float32")})
    assert program.stats()["peak_bytes"] == 2 * 65536 + 16384
    check_plan(program)


def test_a_new_variable_value_counts_to_the_end_and_its_assign_says_so():
    """assign's listing said '() bool ... free %27' of a (128, 128) value that lives on
    until the commit, and the plan counted it as 1 byte (found by a bug hunt)."""
    w = sg.Variable(np.zeros((128, 128), "float32"), name="w")
    x = sg.Placeholder((128,), name="x")
    train = sg.optim.SGD(lr=0.1).minimize(sg.sum(sg.tanh(x @ w)))
    program = sg.compile(train, feeds={x: np.zeros(128, "float32")})
    (line,) = [i.listing() for i in program.instructions if i.op.name == "assign"]
    assert "(128, 128) float32" in line and "keeps %" in line and "free" not in line
    assert program.stats()["peak_bytes"] >= 128 * 128 * 4  # the new value, alive at the end
