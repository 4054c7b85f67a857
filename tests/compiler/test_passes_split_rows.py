"""split_rows computes a product read block by block a chunk at a time, just before its
rows are needed; merge_matmuls then joins each chunk's gradient terms. Together they
keep one chunk of an RNN's output-layer gradient alive, not all of it, and change no
result beyond rounding."""

from __future__ import annotations

import contextlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.compiler import compile_steps
from symgraph.compiler.passes import costs
from symgraph.compiler.passes.costs import row_chunks
from tests.compiler.test_memory_plan import check_plan
from tests.compiler.test_passes_merge_matmuls import _stacked_rnn


def _rnn(steps, batch, hidden=16, seed=3):
    """W2's shape of RNN (see test_passes_merge_matmuls): (loss, parameters, feeds)."""
    loss, params, feeds, _ = _stacked_rnn(steps=steps, batch=batch, hidden=hidden, seed=seed)
    return loss, params, feeds


@contextlib.contextmanager
def _chunk_rows(rows):
    """Cut into chunks of `rows` rows, so that small graphs are cut too."""
    saved, costs.CHUNK_ROWS = costs.CHUNK_ROWS, rows
    try:
        yield
    finally:
        costs.CHUNK_ROWS = saved


def _report(fetches, feeds, name="split_rows"):
    program, steps = compile_steps(fetches, feeds)
    (step,) = [s for s in steps if s.name == name]
    return program, step.report


def _chunks(program):
    """The split product's chunks, in run order: [(index, instruction)]."""
    return [(i, inst) for i, inst in enumerate(program.instructions)
            if inst.op.name == "matmul" and "/rows_" in inst.name and not inst.name.endswith("/lhs")]


def _same_as_unsplit(fetches, feeds, disable=("split_rows", "merge_matmuls")):
    with sg.Session() as optimized, sg.Session(disable=list(disable)) as plain:
        for _ in range(2):  # the second run reuses the buffers
            for got, want in zip(optimized.run(fetches, feeds), plain.run(fetches, feeds)):
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_row_chunks_gathers_at_least_chunk_rows_and_folds_a_short_tail_in():
    with _chunk_rows(256):
        assert row_chunks([32] * 32) == [(0, 8), (8, 16), (16, 24), (24, 32)]
        assert row_chunks([32] * 19) == [(0, 8), (8, 19)]  # 3 parts, 96 rows: join the 8 before
        assert row_chunks([32] * 20) == [(0, 8), (8, 16), (16, 20)]  # 128 rows: a chunk
        assert row_chunks([8] * 5) == [(0, 5)]
        assert row_chunks([300, 10, 300]) == [(0, 1), (1, 3)]
        assert row_chunks([]) == []


def test_the_output_layers_gradient_is_made_a_chunk_at_a_time():
    loss, params, feeds = _rnn(steps=32, batch=32)  # 1,024 rows: two chunks of 16 steps
    grads = sg.gradients(loss, params)
    program, report = _report(grads, feeds)
    assert {c.rule for c in report.changes if c.kind != "removed"} == {"rows-on-demand"}
    chunks = _chunks(program)
    assert [inst.name.rsplit("/", 1)[1] for _, inst in chunks] == ["rows_512_1024", "rows_0_512"]
    _same_as_unsplit([loss, *grads], feeds)


def test_each_chunk_is_made_after_the_one_before_is_used_up():
    """Only one chunk is alive at a time: the second chunk is made after every row of the
    first has been read, and both take the same place in memory."""
    loss, params, feeds = _rnn(steps=32, batch=32)
    program, _ = _report(sg.gradients(loss, params), feeds)
    (first_at, first), (second_at, second) = _chunks(program)
    readers = [i for i, inst in enumerate(program.instructions)
               if i > first_at and set(inst.args) & _views_of(program, first.out)]
    assert readers and max(readers) < second_at
    assert (first.buffer, first.span) == (second.buffer, second.span)
    check_plan(program)


def _views_of(program, slot):
    """`slot` and every view made of it (reshape, getitem), transitively."""
    seen = {slot}
    for inst in program.instructions:
        if inst.op.name in ("reshape", "getitem") and inst.args[0] in seen:
            seen.add(inst.out)
    return seen


def test_each_chunks_gradient_terms_are_written_over_the_chunk():
    """merge_matmuls cuts the steps' terms as split_rows cut the rows, so each chunk's
    concatenation of terms lands where the chunk was (no memory of its own)."""
    loss, params, feeds = _rnn(steps=32, batch=32)
    program, _ = _report(sg.gradients(loss, params), feeds)
    spans = {(inst.buffer, inst.span) for _, inst in _chunks(program)}
    terms = [inst for inst in program.instructions if inst.name.endswith("/concat_rhs")]
    assert len(terms) == 2 and all(inst.in_place for inst in terms)
    assert {(inst.buffer, inst.span) for inst in terms} == spans


def test_the_split_halves_the_peak_of_a_long_rnn():
    # the gradient of the output layer is (steps * batch, hidden): most of the peak
    loss, params, feeds = _rnn(steps=128, batch=32, hidden=64)  # 4,096 rows: 8 chunks
    grads = sg.gradients(loss, params)
    split = sg.compile(grads, feeds).memory.peak_bytes
    whole = sg.compile(grads, feeds, disable=["split_rows"]).memory.peak_bytes
    assert split < 0.75 * whole


def test_a_product_too_short_for_two_chunks_is_left_whole():
    loss, params, feeds = _rnn(steps=6, batch=8)  # 48 rows
    program, report = _report(sg.gradients(loss, params), feeds)
    assert not report.changed and not _chunks(program)


def test_a_product_also_read_whole_is_left_whole():
    """Fetching the states' gradient reads dH whole: splitting it would only add work."""
    rng = np.random.default_rng(0)
    hs = sg.Placeholder((1024, 16), dtype="float64", name="hs")
    w = sg.Variable(rng.normal(size=(16, 16)), name="W")
    product = hs @ w
    blocks = sg.reshape(product, (32, 32, 16))
    total = sg.sum(blocks[0] * blocks[31])
    feeds = {hs: rng.normal(size=(1024, 16))}
    _, report = _report([total, product], feeds)
    assert not report.changed
    _, report = _report([total], feeds)
    assert report.changed  # the same graph, the product not fetched: split
    _same_as_unsplit([total], feeds)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.integers(1, 4), st.integers(2, 12), st.booleans(), st.booleans(),
       st.integers(0, 999))
def test_rnns_cut_into_chunks_of_any_size_match_the_plain_run(
    steps, batch, chunk_rows, train, fetch_states_gradient, seed
):
    """Any number of steps, any chunk size (chunks that do not fall on the same steps for
    every sum, a short last chunk), the states' gradient fetched or not (then the product
    is read whole, and not split): the plan is sound and the values are the plain run's."""
    with _chunk_rows(chunk_rows), sg.Graph().as_default():
        loss, params, feeds = _rnn(steps=steps, batch=batch, hidden=5, seed=seed)
        stacked = loss.inputs[0].inputs[0]  # reshape(stack(states)), read by the output layer
        grads = sg.gradients(loss, [*params, stacked] if fetch_states_gradient else params)
        fetches = [loss, *grads]
        if train:
            fetches.append(sg.optim.SGD(lr=0.1).apply_gradients(zip(grads, params)))
        check_plan(sg.compile(fetches, feeds))
        with sg.Session() as optimized, sg.Session(disable="all") as plain:
            for _ in range(2):
                got, want = optimized.run(fetches, feeds), plain.run(fetches, feeds)
                for g, w in zip(got[: 1 + len(grads)], want[: 1 + len(grads)]):
                    np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
