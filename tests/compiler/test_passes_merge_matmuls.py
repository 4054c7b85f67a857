"""merge_matmuls: a sum of matmuls becomes one matmul of concatenations (and a sum of
row sums one row sum, a concat of matmuls by one W one matmul), only when it pays,
and never changes a result beyond rounding."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph as sg
from symgraph.compiler import compile_steps
from symgraph.ops.nn import EmbeddingGrad


def _report(fetches, feeds):
    program, steps = compile_steps(fetches, feeds)
    (step,) = [s for s in steps if s.name == "merge_matmuls"]
    return program, step.report


def _rules(report):
    return sorted({c.rule for c in report.changes if c.kind != "removed"})


def _count(program, op_name):
    return sum(inst.op.name == op_name for inst in program.instructions)


def _run_both(fetches, feeds):
    """(values with every pass, values with every pass but merge_matmuls)."""
    with sg.Session() as sess:
        merged = sess.run(fetches, feeds)
    with sg.Session(disable=["merge_matmuls"]) as sess:
        plain = sess.run(fetches, feeds)
    return merged, plain


def test_a_sum_of_matmuls_becomes_one_matmul_of_concatenations():
    rng = np.random.default_rng(0)
    xs = [sg.Placeholder((4, 3), dtype="float64", name=f"x{i}") for i in range(5)]
    gs = [sg.Placeholder((4, 6), dtype="float64", name=f"g{i}") for i in range(5)]
    total = sg.transpose(xs[0]) @ gs[0]
    for x, g in zip(xs[1:], gs[1:]):
        total = total + sg.transpose(x) @ g
    feeds = {p: rng.normal(size=p.shape) for p in xs + gs}
    program, report = _report([total], feeds)
    assert _rules(report) == ["sum-of-matmuls"]
    assert _count(program, "matmul") == 1 and _count(program, "add") == 0
    expected = sum(feeds[x].T @ feeds[g] for x, g in zip(xs, gs))
    merged, plain = _run_both(total, feeds)
    np.testing.assert_allclose(merged, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(merged, plain, rtol=1e-12, atol=1e-12)


@st.composite
def sums(draw):
    n_terms = draw(st.integers(3, 6))
    m, n = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ks = draw(st.lists(st.integers(1, 4), min_size=n_terms, max_size=n_terms))
    a_transposed = draw(st.lists(st.booleans(), min_size=n_terms, max_size=n_terms))
    b_transposed = draw(st.lists(st.booleans(), min_size=n_terms, max_size=n_terms))
    extra = draw(st.sampled_from([None, "bias", "same-shape"]))  # a term that is no matmul
    return n_terms, m, n, ks, a_transposed, b_transposed, extra, draw(st.integers(0, 2**16))


@settings(max_examples=60, deadline=None)
@given(sums())
def test_merging_changes_no_value_and_no_gradient(case):
    n_terms, m, n, ks, a_t, b_t, extra, seed = case
    rng = np.random.default_rng(seed)
    feeds, total, expected = {}, None, 0.0
    a_vars = []
    for i, k in enumerate(ks):
        # A is (m, k), stored transposed as (k, m) when a_t[i]; the same for B (k, n)
        a_shape = (k, m) if a_t[i] else (m, k)
        b_shape = (n, k) if b_t[i] else (k, n)
        a_value = rng.normal(size=a_shape)
        a = sg.Variable(a_value, name=f"a{i}")
        b = sg.Placeholder(b_shape, dtype="float64", name=f"b{i}")
        feeds[b] = rng.normal(size=b_shape)
        term = (sg.transpose(a) if a_t[i] else a) @ (sg.transpose(b) if b_t[i] else b)
        value = (a_value.T if a_t[i] else a_value) @ (feeds[b].T if b_t[i] else feeds[b])
        total = term if total is None else total + term
        expected = expected + value
        a_vars.append(a)
    if extra == "bias":
        c = sg.Placeholder((n,), dtype="float64", name="c")
        feeds[c] = rng.normal(size=n)
        total, expected = total + c, expected + feeds[c]
    elif extra == "same-shape":
        c = sg.Placeholder((m, n), dtype="float64", name="c")
        feeds[c] = rng.normal(size=(m, n))
        total, expected = sg.tanh(c) + total, expected + np.tanh(feeds[c])
    weights = rng.normal(size=(m, n))
    loss = sg.sum(sg.tanh(total) * weights)
    grads = sg.gradients(loss, a_vars)
    merged, plain = _run_both([total, loss, *grads], feeds)
    np.testing.assert_allclose(merged[0], expected, rtol=1e-11, atol=1e-11)
    for got, want in zip(merged, plain):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_a_sum_that_would_copy_more_than_it_saves_stays():
    rng = np.random.default_rng(1)
    xs = [sg.Placeholder((2, 5000), dtype="float64", name=f"x{i}") for i in range(3)]
    ws = [sg.Placeholder((5000, 2), dtype="float64", name=f"w{i}") for i in range(3)]
    total = xs[0] @ ws[0] + xs[1] @ ws[1] + xs[2] @ ws[2]
    feeds = {p: rng.normal(size=p.shape) for p in xs + ws}
    program, report = _report([total], feeds)
    assert not report.changed
    assert _count(program, "matmul") == 3


def test_a_term_read_elsewhere_is_left_alone():
    rng = np.random.default_rng(2)
    xs = [sg.Placeholder((4, 3), dtype="float64", name=f"x{i}") for i in range(4)]
    w = sg.Placeholder((3, 4), dtype="float64", name="w")
    terms = [x @ w for x in xs]
    total = terms[0] + terms[1] + terms[2] + terms[3]
    feeds = {p: rng.normal(size=p.shape) for p in xs + [w]}
    # the first term is also fetched: it must be computed anyway, so only three merge
    program, report = _report([total, terms[0]], feeds)
    assert _rules(report) == ["sum-of-matmuls"]
    assert _count(program, "matmul") == 2
    merged, plain = _run_both([total, terms[0]], feeds)
    for got, want in zip(merged, plain):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_unknown_sizes_are_not_merged():
    xs = [sg.Placeholder((None, 3), dtype="float64", name=f"x{i}") for i in range(3)]
    gs = [sg.Placeholder((None, 4), dtype="float64", name=f"g{i}") for i in range(3)]
    total = sg.transpose(xs[0]) @ gs[0] + sg.transpose(xs[1]) @ gs[1] + sg.transpose(xs[2]) @ gs[2]
    program = sg.compile(total, feeds=xs + gs)  # no values: the batch size is unknown
    assert _count(program, "matmul") == 3


def test_the_pass_does_not_change_the_ir_it_is_given():
    rng = np.random.default_rng(3)
    xs = [sg.Placeholder((4, 3), dtype="float64", name=f"x{i}") for i in range(4)]
    w = sg.Placeholder((3, 4), dtype="float64", name="w")
    total = xs[0] @ w + xs[1] @ w + xs[2] @ w + xs[3] @ w
    feeds = {p: rng.normal(size=p.shape) for p in xs + [w]}
    _, steps = compile_steps([total], feeds)
    names = [s.name for s in steps]
    before = steps[names.index("merge_matmuls") - 1].ir
    after = steps[names.index("merge_matmuls")].ir
    assert sum(d["op"].name == "matmul" for _, d in before.nodes(data=True)) == 4
    assert sum(d["op"].name == "matmul" for _, d in after.nodes(data=True) if d["kind"] == "op") == 1


STEPS, BATCH, VOCAB, EMBED, HIDDEN = 6, 4, 7, 3, 5


def _rnn_loss(emb, wx, wh, bh, *ids):
    """An unrolled tanh RNN over embedded ids, with a loss at every step."""
    h = sg.Constant(np.zeros((BATCH, HIDDEN)))
    loss = 0.0
    for t in range(STEPS):
        h = sg.tanh(sg.embedding_lookup(emb, ids[t]) @ wx + h @ wh + bh)
        loss = loss + sg.sum(h * h)
    return loss


def _rnn_values():
    rng = np.random.default_rng(4)
    params = [rng.normal(size=(VOCAB, EMBED)), rng.normal(size=(EMBED, HIDDEN)) * 0.5,
              rng.normal(size=(HIDDEN, HIDDEN)) * 0.5, rng.normal(size=HIDDEN) * 0.1]
    ids = [rng.integers(0, VOCAB, size=BATCH) for _ in range(STEPS)]
    return params, ids


def test_the_gradients_of_an_unrolled_rnn_merge_into_one_matmul_each():
    values, id_values = _rnn_values()
    params = [sg.Variable(v, name=n) for v, n in zip(values, ["emb", "Wx", "Wh", "bh"])]
    ids = [sg.Placeholder((BATCH,), dtype="int64", name=f"id{t}") for t in range(STEPS)]
    loss = _rnn_loss(*params, *ids)
    grads = sg.gradients(loss, params)
    feeds = dict(zip(ids, id_values))
    program, report = _report(grads, feeds)
    assert _rules(report) == ["concat-of-matmuls", "sum-of-matmuls", "sum-of-row-sums"]
    merged, plain = _run_both([loss, *grads], feeds)
    for got, want in zip(merged, plain):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_merged_rnn_gradients_match_finite_differences():
    values, id_values = _rnn_values()
    # check_gradients compiles for the shapes it feeds, so merge_matmuls runs there too
    assert sg.testing.check_gradients(_rnn_loss, values + id_values) <= 1.0


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6),
    st.lists(st.integers(0, 5), min_size=0, max_size=12),
    st.booleans(),
)
def test_embedding_gradient_adds_every_row_of_a_repeated_id(width, ids, two_d):
    """The sort-and-reduceat scatter-add equals NumPy's np.add.at, ids repeated or not."""
    rng = np.random.default_rng(len(ids))
    ids = np.array(ids, dtype=np.int64)
    grad = rng.normal(size=(len(ids), width))
    like = np.zeros((6, width))
    if two_d and len(ids) % 2 == 0 and len(ids):
        ids, grad = ids.reshape(2, -1), grad.reshape(2, -1, width)
    expected = np.zeros((6, width))
    np.add.at(expected, ids.reshape(-1), grad.reshape(-1, width))
    kernel = EmbeddingGrad().kernel()
    np.testing.assert_allclose(kernel(grad, ids, like), expected, rtol=1e-14, atol=1e-14)
    buffer = np.full((6, width), 7.0)  # a reused buffer holding the last run's values
    np.testing.assert_allclose(kernel(grad, ids, like, out=buffer), expected, rtol=1e-14, atol=1e-14)


# -- laid out to copy nothing ------------------------------------------------------------------
def _stacked_rnn(steps=8, batch=4, hidden=40, vocab=9, embed=6, seed=5):
    """W2's shape of RNN: states stacked, one output layer over all steps, zero initial state.
    (loss, parameters, feeds, states)."""
    rng = np.random.default_rng(seed)
    names = ["emb", "Wx", "Wh", "bh", "Wo"]
    shapes = [(vocab, embed), (embed, hidden), (hidden, hidden), (hidden,), (hidden, vocab)]
    params = [sg.Variable(rng.normal(size=s) * 0.3, name=n) for s, n in zip(shapes, names)]
    emb, wx, wh, bh, wo = params
    ids = [sg.Placeholder((batch,), dtype="int64", name=f"x{t}") for t in range(steps)]
    targets = sg.Placeholder((steps * batch,), dtype="int64", name="targets")
    h = sg.Constant(np.zeros((batch, hidden)))
    states = []
    for t in range(steps):
        h = sg.tanh(sg.embedding_lookup(emb, ids[t]) @ wx + h @ wh + bh)
        states.append(h)
    loss = sg.softmax_cross_entropy(sg.reshape(sg.stack(states), (-1, hidden)) @ wo, targets)
    feeds = {x: rng.integers(0, vocab, size=batch) for x in ids}
    feeds[targets] = rng.integers(0, vocab, size=steps * batch)
    return loss, params, feeds, states


def test_the_rnn_weight_gradients_read_the_stacked_states_and_one_gradient_concatenation():
    loss, params, feeds, _ = _stacked_rnn()
    grads = sg.gradients(loss, params)
    program, _ = _report(grads, feeds)
    made_by = {inst.out: inst for inst in program.instructions}

    def chain(slot):
        """The ops from `slot` back through its first input, while instructions make them."""
        ops = []
        while slot in made_by:
            ops.append(made_by[slot].op.name)
            slot = made_by[slot].args[0] if made_by[slot].args else None
        return ops

    (wh,) = [i for i in program.instructions if i.name == "gradients/Wh_grad/add_6/merged_matmul"]
    lhs, rhs = wh.args
    # dWh's left side is h0 ... h6, the first 7 of the 8 stacked states: a view, no copy
    assert chain(lhs)[:4] == ["transpose", "reshape", "getitem", "stack"]
    assert made_by[made_by[made_by[lhs].args[0]].args[0]].attrs["index"] == (("slice", 0, 7, None),)
    # its right side, g1 ... g7, a view of the one concatenation of every step's gradient
    assert chain(rhs)[:2] == ["getitem", "concat"]
    (concat,) = [i for i in program.instructions if i.op.name == "concat" and i.dtype == np.float64
                 and i.name.endswith("concat_rhs")]
    assert made_by[rhs].args == (concat.out,)
    # ... which is laid out first step first (the backward makes the last step's first),
    # and is read by dWx, the bias's row sum, the embedding's product and dWh
    made_at = {inst.out: n for n, inst in enumerate(program.instructions)}
    assert [made_at[a] for a in concat.args] == sorted((made_at[a] for a in concat.args), reverse=True)
    readers = [i.op.name for i in program.instructions if concat.out in i.args]
    assert sorted(readers) == ["getitem", "matmul", "matmul", "sum_to"]
    # no other concatenation of floats is left but the embedding rows' (written in place)
    concats = [i for i in program.instructions if i.op.name == "concat" and i.dtype == np.float64]
    assert all(i.in_place for i in concats) and len(concats) == 2
    # the zero initial state's product is computed as written, twice: h @ Wh at step 0
    # and its term of dWh
    zeros = {slot for slot, value in program.constants if np.ndim(value) == 2}
    assert sum(1 for i in program.instructions if i.op.name == "matmul" and zeros & set(i.args)) == 2
    merged, plain = _run_both([loss, *grads], feeds)
    for got, want in zip(merged, plain):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_a_nan_reaching_the_zero_initial_states_term_still_reaches_the_gradient():
    """0 @ NaN is NaN: the term of the zero initial state is kept, not dropped."""
    h0 = sg.Constant(np.zeros((50, 40)))
    g = sg.Placeholder((50, 40), dtype="float64", name="g")
    xs = [sg.Placeholder((50, 40), dtype="float64", name=f"x{t}") for t in range(10)]
    total = sg.transpose(h0) @ g
    for x in xs:
        total = total + sg.transpose(x) @ x
    feeds = {g: np.full((50, 40), np.nan), **{x: np.ones((50, 40)) for x in xs}}
    program, report = _report([total], feeds)
    assert "sum-of-matmuls" in _rules(report)
    with sg.Session() as sess:
        assert np.isnan(sess.run(total, feeds)).all()


def test_a_merge_whose_concatenations_cost_no_copy_is_made_even_for_big_terms():
    """With 64 sequences a batch, copying every step's states and gradients would cost
    more than the small products save; but the states are a slice of the stack and
    the gradients are written straight into their concatenation, so it pays."""
    loss, params, feeds, _ = _stacked_rnn(steps=6, batch=64, hidden=48)
    grads = sg.gradients(loss, params)
    program, report = _report(grads, feeds)
    merged = {c.name.split("/")[1] for c in report.changes if c.name.endswith("merged_matmul")}
    assert {"Wx_grad", "Wh_grad"} <= merged
    assert not any(i.op.name == "concat" and not i.in_place for i in program.instructions
                   if i.dtype == np.float64)
    merged_values, plain = _run_both([loss, *grads], feeds)
    for got, want in zip(merged_values, plain):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
