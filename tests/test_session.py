"""Session: fetch structures, feeds, the Program cache, memory, transactions, checkpoints, debug."""

from __future__ import annotations

import os
from collections import namedtuple

import numpy as np
import pytest

import symgraph as sg

F32 = np.float32


# -- fetch structures --------------------------------------------------------------------------
def test_fetch_structures_come_back_in_the_same_shape():
    x = sg.Placeholder((), name="x")
    a, b = x + 1.0, x * 2.0
    feed = {x: 3.0}
    with sg.Session() as sess:
        assert sess.run(a, feed) == 4.0
        assert sess.run([a, b], feed) == [4.0, 6.0]
        got = sess.run((a, b), feed)
        assert isinstance(got, tuple) and got == (4.0, 6.0)
        assert sess.run({"a": a, "b": b}, feed) == {"a": 4.0, "b": 6.0}
        assert sess.run([], feed) == []


def test_a_named_tuple_of_fetches_comes_back_as_that_named_tuple():
    Pair = namedtuple("Pair", "first second")
    x = sg.Placeholder((), name="x")
    with sg.Session() as sess:
        got = sess.run(Pair(x + 1.0, x * 2.0), {x: 3.0})
    assert got == Pair(4.0, 6.0) and isinstance(got, Pair)


def test_a_scalar_fetch_is_a_numpy_scalar_and_an_array_fetch_an_array():
    x = sg.Placeholder((2,), name="x")
    with sg.Session() as sess:
        total, doubled = sess.run([sg.sum(x), x * 2.0], {x: [1.0, 2.0]})
    assert isinstance(total, np.float32)
    assert isinstance(doubled, np.ndarray) and doubled.dtype == F32


def test_an_update_node_answers_none():
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    inc = sg.assign(v, v + 1.0)
    step = sg.group(inc)
    with sg.Session() as sess:
        assert sess.run(inc) is None
        assert sess.run([step, v]) == [None, pytest.approx(np.ones(2))]
        np.testing.assert_array_equal(sess.run(v), [2.0, 2.0])


def test_fetching_the_same_node_twice_gives_two_values():
    x = sg.Placeholder((2,), name="x")
    with sg.Session() as sess:
        a, b = sess.run([x, x], {x: [1.0, 2.0]})
    a[0] = 9.0
    assert b[0] == 1.0  # separate copies


# -- feeds ------------------------------------------------------------------------------------
def test_feed_of_the_wrong_shape_is_a_feed_error():
    x = sg.Placeholder((None, 2), name="x")
    with sg.Session() as sess, pytest.raises(sg.FeedError) as info:
        sess.run(x * 2.0, {x: np.ones((3, 3))})
    message = str(info.value)
    assert "x expects shape (None, 2) but was fed (3, 3)" in message
    assert info.value.node is x


def test_feed_of_the_wrong_rank_is_a_feed_error():
    x = sg.Placeholder((None, 2), name="x")
    with sg.Session() as sess, pytest.raises(sg.FeedError, match=r"fed \(2,\)"):
        sess.run(x, {x: np.ones(2)})


def test_float_fed_into_an_int_placeholder_is_a_feed_error():
    ids = sg.Placeholder((2,), dtype="int64", name="ids")
    with sg.Session() as sess, pytest.raises(sg.FeedError, match="ids expects int64 but was fed float64"):
        sess.run(ids, {ids: np.array([1.0, 2.0])})


def test_same_kind_feeds_are_cast_to_the_placeholder_dtype():
    x = sg.Placeholder((2,), name="x")  # float32
    ids = sg.Placeholder((2,), dtype="int64", name="ids")
    with sg.Session() as sess:
        vx, vi = sess.run([x, ids], {x: np.array([0.5, 1.5], dtype=np.float64), ids: [1, 2]})
    assert vx.dtype == F32 and vx.tolist() == [0.5, 1.5]
    assert vi.dtype == np.int64 and vi.tolist() == [1, 2]


@pytest.mark.parametrize("bad", [[[1.0, 2.0], [3.0]], "text", {"a": 1}])
def test_non_numeric_feed_is_a_feed_error(bad):
    x = sg.Placeholder((None,), name="x")
    with sg.Session() as sess, pytest.raises(sg.FeedError, match="x"):
        sess.run(x, {x: bad})


def test_missing_feed_names_the_placeholder_and_the_fetch():
    x = sg.Placeholder((None, 2), name="x")
    with sg.name_scope("model"):
        y = sg.sum(x * 2.0, name="y")
    with sg.Session() as sess, pytest.raises(sg.FeedError) as info:
        sess.run(y)
    message = str(info.value)
    assert "Placeholder x (None, 2) is needed to compute model/y but was not fed" in message
    assert "fix: feed it: add it to feed_dict, {x: array}, or to make_callable's feed_list" in message


def test_feed_dict_keys_must_be_nodes_of_this_graph():
    x = sg.Placeholder((), name="x")
    with sg.Graph().as_default():
        other = sg.Placeholder((), name="other")
    with sg.Session() as sess:
        with pytest.raises(sg.FeedError, match="values are fed for Nodes .*, got str"):
            sess.run(x, {"x": 1.0})
        with pytest.raises(sg.FeedError, match="other belongs to another Graph"):
            sess.run(x, {x: 1.0, other: 1.0})
        with pytest.raises(sg.FeedError, match="must be a dict"):
            sess.run(x, [(x, 1.0)])


def test_any_node_may_be_fed_like_in_tf1():
    x = sg.Placeholder((2,), name="x")
    v = sg.Variable(np.ones(2, dtype=F32), name="v")
    h = sg.exp(x, name="h")
    y = h * v
    with sg.Session() as sess:
        # h's own input x is not fed and not needed
        np.testing.assert_array_equal(sess.run(y, {h: [2.0, 3.0]}), [2.0, 3.0])
        # a Variable can be fed too; its stored value is untouched
        np.testing.assert_array_equal(sess.run(y, {h: [1.0, 1.0], v: [5.0, 6.0]}), [5.0, 6.0])
        np.testing.assert_array_equal(sess.run(v), [1.0, 1.0])


def test_a_placeholder_with_a_default_need_not_be_fed():
    training = sg.Placeholder((), dtype="bool", name="training", default=False)
    x = sg.Placeholder((2,), name="x")
    y = sg.where(training, x * 2.0, x)
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [1.0, 2.0])
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0], training: True}), [2.0, 4.0])


# -- fetch errors -----------------------------------------------------------------------------
def test_fetch_from_another_graph_is_a_graph_error():
    with sg.Graph().as_default():
        other = sg.Placeholder((), name="other")
    with sg.Session() as sess, pytest.raises(sg.GraphError, match="another Graph") as info:
        sess.run(other)
    assert "sg.Session(graph=" in str(info.value)


@pytest.mark.parametrize("bad", ["loss", 3, None, [1.0]])
def test_non_node_fetch_is_a_fetch_error(bad):
    with sg.Session() as sess, pytest.raises(sg.FetchError, match="only Nodes can be fetched"):
        sess.run(bad)


def test_a_closed_session_refuses_to_run():
    x = sg.Placeholder((), name="x")
    sess = sg.Session()
    sess.close()
    with pytest.raises(sg.GraphError, match="closed"):
        sess.run(x, {x: 1.0})


def test_session_runs_on_the_graph_it_was_given():
    g = sg.Graph()
    with g.as_default():
        x = sg.Placeholder((), name="x")
        y = x * 2.0
    with sg.Session(graph=g) as sess:
        assert sess.run(y, {x: 2.0}) == 4.0


# -- the Program cache ------------------------------------------------------------------------
def test_same_fetches_and_feeds_compile_once():
    x = sg.Placeholder((None, 2), name="x")
    y = sg.sum(x * 2.0)
    with sg.Session() as sess:
        for _ in range(3):
            sess.run(y, {x: np.ones((4, 2))})
        assert len(sess._programs) == 1
        sess.run(y, {x: np.ones((5, 2))})  # a new batch size: a new Program
        assert len(sess._programs) == 2
        sess.run([y, x], {x: np.ones((4, 2))})  # new fetches: a new Program
        assert len(sess._programs) == 3
        sess.run(y, {x: np.ones((4, 2))})
        assert len(sess._programs) == 3


# -- memory -----------------------------------------------------------------------------------
def test_returned_arrays_never_share_memory_with_variables_or_feeds():
    x = sg.Placeholder((2, 3), name="x")
    v = sg.Variable(np.arange(6, dtype=F32).reshape(2, 3), name="v")
    feed = np.ones((2, 3), dtype=F32)
    with sg.Session() as sess:
        got = sess.run([v, x, v.T, v[0], sg.reshape(x, (3, 2)), x[:, 1]], {x: feed})
        stored = sess._values[v]
        for value in got:
            assert not np.shares_memory(value, stored)
            assert not np.shares_memory(value, feed)
            assert value.flags.writeable
        got[0][...] = -1.0  # scribbling on an answer changes nothing inside
        np.testing.assert_array_equal(sess.run(v), np.arange(6).reshape(2, 3))


def test_values_returned_by_one_run_are_not_changed_by_the_next():
    x = sg.Placeholder((2, 3), name="x")
    h = sg.tanh(x) * 2.0 + 1.0
    views = [h, h.T, sg.reshape(h, (6,)), h[0]]
    with sg.Session() as sess:
        first = sess.run(views, {x: np.zeros((2, 3))})
        kept = [v.copy() for v in first]
        sess.run(views, {x: np.ones((2, 3))})  # same Program, same buffers
    for got, want in zip(first, kept):
        np.testing.assert_array_equal(got, want)


def test_a_variable_assigned_from_a_feed_does_not_alias_the_feed():
    x = sg.Placeholder((3,), name="x")
    v = sg.Variable(np.zeros(3, dtype=F32), name="v")
    feed = np.array([1.0, 2.0, 3.0], dtype=F32)
    with sg.Session() as sess:
        sess.run(sg.assign(v, x), {x: feed})
        feed[:] = 99.0
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0, 3.0])
        sess.run(sg.assign(v, x[::-1]), {x: feed})  # a view of the feed
        feed[:] = 7.0
        np.testing.assert_array_equal(sess.run(v), [99.0, 99.0, 99.0])


# -- a run is a transaction -------------------------------------------------------------------
def test_reads_see_the_values_from_the_start_of_the_run():
    v = sg.Variable(np.array([1.0], dtype=F32), name="v")
    inc = sg.assign(v, v + 1.0)
    with sg.Session() as sess:
        old, _ = sess.run([v, inc])
        assert old.tolist() == [1.0]
        _, doubled = sess.run([inc, v * 2.0])  # update first in the list: still the old value
        assert doubled.tolist() == [4.0]
        assert sess.run(v).tolist() == [3.0]


def _state(sess, variables):
    return [sess.run(v).copy() for v in variables]


def test_a_run_failing_in_a_kernel_changes_no_variable():
    E = sg.Variable(np.arange(6, dtype=F32).reshape(3, 2), name="E")
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    ids = sg.Placeholder((None,), dtype="int64", name="ids")
    rows = sg.embedding_lookup(E, ids)
    step = sg.group(sg.assign(v, v + 10.0), sg.assign(E, E * 0.0))
    with sg.Session() as sess:
        before = _state(sess, [E, v])
        for bad in ([0, 3], [-1]):  # past the end, and negative (NumPy would wrap it)
            with pytest.raises(sg.RunError, match="embedding id .* is out of range"):
                sess.run([step, rows], {ids: bad})
            for got, want in zip(_state(sess, [E, v]), before):
                np.testing.assert_array_equal(got, want)
        sess.run([step, rows], {ids: [0, 2]})  # a good run does commit
        np.testing.assert_array_equal(sess.run(v), [10.0, 10.0])


def test_two_updates_of_one_variable_in_one_run_are_a_graph_error_and_change_nothing():
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    w = sg.Variable(np.zeros(2, dtype=F32), name="w")
    updates = [sg.assign(w, w + 1.0), sg.assign(v, v + 1.0), sg.assign(v, v + 2.0)]
    with sg.Session() as sess:
        with pytest.raises(sg.GraphError, match="updated twice"):
            sess.run(updates)
        np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])
        np.testing.assert_array_equal(sess.run(w), [0.0, 0.0])


def test_variables_created_after_the_session_opened_start_at_their_initial_value():
    with sg.Session() as sess:
        late = sg.Variable(np.array([4.0, 5.0], dtype=F32), name="late")
        np.testing.assert_array_equal(sess.run(late), [4.0, 5.0])
        sess.run(sg.assign(late, late * 2.0))
        np.testing.assert_array_equal(sess.run(late), [8.0, 10.0])


def test_initialize_resets_variables_to_their_initial_values():
    v = sg.Variable(np.array([1.0], dtype=F32), name="v")
    w = sg.Variable(np.array([1.0], dtype=F32), name="w")
    step = sg.group(sg.assign(v, v + 1.0), sg.assign(w, w + 1.0))
    with sg.Session() as sess:
        sess.run(step)
        sess.initialize([v])
        assert sess.run([v, w]) == [[1.0], [2.0]]
        sess.initialize()
        assert sess.run([v, w]) == [[1.0], [1.0]]


def test_two_sessions_keep_their_own_variable_values():
    v = sg.Variable(np.array([0.0], dtype=F32), name="v")
    inc = sg.assign(v, v + 1.0)
    with sg.Session() as a, sg.Session() as b:
        a.run(inc)
        a.run(inc)
        assert a.run(v).tolist() == [2.0] and b.run(v).tolist() == [0.0]


# -- checkpoints ------------------------------------------------------------------------------
def _model():
    W = sg.Variable(np.arange(6, dtype=F32).reshape(2, 3), name="W")
    steps = sg.Variable(np.array(0, dtype=np.int64), name="steps", trainable=False)
    with sg.name_scope("layer"):
        b = sg.Variable(np.zeros(3, dtype=np.float64), name="b")
    change = sg.group(sg.assign(W, W * 2.0), sg.assign(steps, steps + 1), sg.assign(b, b - 0.5))
    return [W, steps, b], change


def test_save_and_restore_round_trip(tmp_path):
    variables, change = _model()
    path = tmp_path / "model.npz"
    with sg.Session() as sess:
        sess.run(change)
        saved = _state(sess, variables)
        assert sess.save(path) == str(path)
        sess.run(change)
        sess.restore(path)
        for got, want in zip(_state(sess, variables), saved):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no stray temp file


def test_restore_into_a_rebuilt_graph_matches_variables_by_name(tmp_path):
    variables, change = _model()
    with sg.Session() as sess:
        sess.run(change)
        saved = _state(sess, variables)
        sess.save(tmp_path / "ck.npz")
    with sg.Graph().as_default() as g:
        rebuilt, _ = _model()
        with sg.Session(graph=g) as fresh:
            fresh.restore(tmp_path / "ck.npz")
            for got, want in zip(_state(fresh, rebuilt), saved):
                np.testing.assert_array_equal(got, want)


def test_save_overwrites_atomically_and_leaves_no_temp_files(tmp_path):
    variables, change = _model()
    path = tmp_path / "ck.npz"
    with sg.Session() as sess:
        sess.save(path)
        sess.run(change)
        sess.save(path)
        with np.load(path) as data:
            np.testing.assert_array_equal(data["W"], np.arange(6).reshape(2, 3) * 2)
    assert os.listdir(tmp_path) == ["ck.npz"]


def _assert_restore_fails(sess, variables, path, match):
    before = _state(sess, variables)
    with pytest.raises(sg.CheckpointError, match=match):
        sess.restore(path)
    for got, want in zip(_state(sess, variables), before):
        np.testing.assert_array_equal(got, want)


def test_restore_of_a_missing_file_is_a_checkpoint_error(tmp_path):
    variables, change = _model()
    with sg.Session() as sess:
        sess.run(change)
        _assert_restore_fails(sess, variables, tmp_path / "nope.npz", "no checkpoint at")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"])
def test_restore_of_a_corrupt_file_is_a_checkpoint_error(tmp_path, content):
    variables, change = _model()
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with sg.Session() as sess:
        sess.run(change)
        _assert_restore_fails(sess, variables, path, "not a symgraph checkpoint")


def test_restore_of_a_pickled_array_is_refused(tmp_path):
    variables, _ = _model()
    path = tmp_path / "pickled.npz"
    np.savez(path, W=np.array([None], dtype=object), __symgraph_checkpoint_format__=np.asarray(1))
    with sg.Session() as sess:
        _assert_restore_fails(sess, variables, path, "not a symgraph checkpoint")


def test_restore_of_a_file_without_the_format_version_is_refused(tmp_path):
    variables, _ = _model()
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros((2, 3), F32), steps=np.asarray(0), **{"layer/b": np.zeros(3)})
    with sg.Session() as sess:
        _assert_restore_fails(sess, variables, path, "is not a symgraph checkpoint")


def test_restore_of_a_checkpoint_missing_a_variable_changes_nothing(tmp_path):
    variables, change = _model()
    path = tmp_path / "ck.npz"
    with sg.Session() as sess:
        sess.save(path)
        extra = sg.Variable(np.ones(2, dtype=F32), name="extra")
        sess.run(change)
        _assert_restore_fails(sess, variables + [extra], path, "no value for Variable.*extra")


def test_restore_of_a_mismatched_shape_or_dtype_changes_nothing(tmp_path):
    variables, change = _model()
    with sg.Graph().as_default() as other:
        sg.Variable(np.zeros(2, dtype=F32), name="W")  # (2,) where the model has (2, 3)
        sg.Variable(np.array(0, dtype=np.int64), name="steps")
        sg.Variable(np.zeros(3, dtype=np.float64), name="layer/b")
        with sg.Session(graph=other) as wrong:
            wrong.save(tmp_path / "shape.npz")
    with sg.Session() as sess:
        sess.run(change)
        _assert_restore_fails(sess, variables, tmp_path / "shape.npz", r"W is \(2,\) float32")
    with sg.Graph().as_default() as other:
        sg.Variable(np.zeros((2, 3), dtype=np.float64), name="W")  # float64 where it is float32
        sg.Variable(np.array(0, dtype=np.int64), name="steps")
        sg.Variable(np.zeros(3, dtype=np.float64), name="layer/b")
        with sg.Session(graph=other) as wrong:
            wrong.save(tmp_path / "dtype.npz")
    with sg.Session() as sess:
        sess.run(change)
        _assert_restore_fails(sess, variables, tmp_path / "dtype.npz", r"W is \(2, 3\) float64")


def test_save_into_a_missing_folder_is_a_checkpoint_error(tmp_path):
    _model()
    with sg.Session() as sess, pytest.raises(sg.CheckpointError, match="cannot write"):
        sess.save(tmp_path / "no" / "such" / "dir" / "ck.npz")


# -- debug mode and kernel errors -------------------------------------------------------------
def test_debug_mode_names_the_first_node_that_made_a_nan():
    x = sg.Placeholder((2,), name="x")
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    with sg.name_scope("loss"):
        bad = sg.log(x, name="log")
    y = sg.exp(bad) * 2.0  # NaN flows on, but log made it first (outside debug mode,
    # log, exp and mul would be fused into one instruction)
    with sg.Session(debug=True) as sess, np.errstate(invalid="ignore"):
        with pytest.raises(sg.NumericError) as info:
            sess.run([y, sg.assign(v, v + 1.0)], {x: [-1.0, 1.0]})
        message = str(info.value)
        assert "NaN appeared in the result of log" in message
        assert "node 'loss/log' (log) created at test_session.py:" in message
        assert "so this op made it" in message
        assert isinstance(info.value, sg.RunError)
        np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])


def test_debug_mode_names_a_node_made_only_of_constants():
    c = sg.Constant(np.float32(-1.0), name="c")
    x = sg.Placeholder((), name="x")
    bad = sg.log(c, name="bad")  # folding would compute it while compiling, unchecked
    with (
        sg.Session(debug=True) as sess,
        np.errstate(invalid="ignore"),
        pytest.raises(sg.NumericError, match="node 'bad' \\(log\\)"),
    ):
        sess.run(bad * x, {x: 1.0})


def test_debug_mode_reports_inf_too():
    x = sg.Placeholder((), name="x")
    with (
        sg.Session(debug=True) as sess,
        np.errstate(over="ignore"),
        pytest.raises(sg.NumericError, match="Inf appeared in the result of exp"),
    ):
        sess.run(sg.exp(x), {x: 1000.0})


def test_without_debug_mode_a_nan_is_just_returned():
    x = sg.Placeholder((), name="x")
    with sg.Session() as sess, np.errstate(invalid="ignore"):
        assert np.isnan(sess.run(sg.log(x), {x: -1.0}))


class _Brittle(sg.Op):
    """A kernel that fails at run time, whatever the shapes: what a buggy user op does."""

    name = "test_brittle"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        raise ZeroDivisionError("the kernel divided by zero")


def test_a_failing_kernel_is_a_run_error_naming_the_node_and_its_line():
    from symgraph.graph import make_node

    x = sg.Placeholder((2,), name="x")
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    bad = make_node(_Brittle(), (x,), name="bad")
    line = bad.line
    with sg.Session() as sess:
        with pytest.raises(sg.RunError) as info:
            sess.run([sg.assign(v, v + 1.0), bad], {x: [1.0, 2.0]})
        np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])
    message = str(info.value)
    assert "test_brittle failed while running: ZeroDivisionError: the kernel divided by zero" in message
    assert "inputs: %0 x (2,) float32" in message
    assert f"node 'bad' (test_brittle) created at test_session.py:{line}" in message
    assert "fix:" in message
    assert info.value.node is bad


def test_a_feed_that_does_not_fit_an_op_is_a_run_error_and_changes_nothing():
    x = sg.Placeholder((None, 2), name="x")
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    flat = sg.reshape(x, (4,), name="flat")  # fits only 2 rows, known at run time
    with sg.Session() as sess:
        with pytest.raises(sg.RunError) as info:
            sess.run([flat, sg.assign(v, v + 1.0)], {x: np.ones((3, 2))})
        np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])
        np.testing.assert_array_equal(sess.run(flat, {x: np.ones((2, 2))}), np.ones(4))
    message = str(info.value)
    assert "reshape" in message and "(3, 2)" in message
    assert f"node 'flat' (reshape) created at test_session.py:{flat.line}" in message
    assert "fix:" in message


def test_an_update_node_cannot_be_fed():
    """Fed, a training step's group would stand for its updates, which would then never
    run: the step would be skipped without a word."""
    x = sg.Placeholder((None, 2), dtype="float64", name="x")
    w = sg.Variable(np.ones(2), name="w")
    loss = sg.sum((x * w) ** 2, name="loss")
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    assign = sg.assign(w, w * 2.0)
    feeds = {x: np.ones((3, 2))}
    with sg.Session() as sess:
        for update in (train, assign):
            for value in (True, np.asarray(True), np.ones(2)):
                with pytest.raises(sg.FeedError, match=f"{update.name} is an update") as info:
                    sess.run([loss, train], {**feeds, update: value})
                assert f"fetch {update.name} to run its updates" in str(info.value)
            with pytest.raises(sg.FeedError, match=f"{update.name} is an update"):
                sess.make_callable(loss, [x, update])
        np.testing.assert_array_equal(sess.run(w), [1.0, 1.0])  # nothing ran
        sess.run(train, feeds)
        assert sess.run(w)[0] < 1.0


@pytest.mark.filterwarnings("ignore:this Session compiles a Program again")  # (the point here)
def test_a_session_keeps_buffers_for_a_few_feed_shapes_and_programs_for_a_bounded_number():
    """One Program per batch size; only the most recently used keep their buffers, and
    the oldest Program goes once there are too many. Every run is still right."""
    from symgraph import session as session_module

    rng = np.random.default_rng(0)
    x = sg.Placeholder((None, 6), dtype="float64", name="x")
    w = sg.Variable(rng.normal(size=(6, 5)), name="w")
    loss = sg.sum(sg.tanh(x @ w) ** 2, name="loss")
    train = sg.optim.SGD(lr=0.01).minimize(loss)
    batches = [rng.normal(size=(n, 6)) for n in range(1, 41)]
    with sg.Session() as sess, sg.Session(disable="all") as plain:
        for _round in range(2):  # the second time round: compiled again, or buffers made again
            for batch in batches:
                for _ in range(2):  # the 2nd run of a Program runs its generated code
                    got = sess.run([loss, train], {x: batch})[0]
                    want = plain.run([loss, train], {x: batch})[0]
                    assert got == pytest.approx(want, rel=1e-12)
                with_buffers = [p for p in sess._programs.values() if p._arrays is not None]
                assert len(with_buffers) <= session_module.KEEP_BUFFERS
                assert len(sess._programs) <= session_module.KEEP_PROGRAMS
        np.testing.assert_allclose(sess.run(w), plain.run(w), rtol=1e-12)
    assert len(batches) > session_module.KEEP_PROGRAMS  # so the oldest did go


def test_a_callable_runs_on_after_its_programs_buffers_were_let_go():
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    y = sg.tanh(x * 2.0, name="y")
    with sg.Session() as sess:
        f = sess.make_callable(y, [x])
        first = np.ones((2, 3))
        for _ in range(3):
            np.testing.assert_allclose(f(first), np.tanh(2.0 * first))
        for n in range(3, 10):  # other shapes, through run(): the callable's Program is pushed out
            sess.run(y, {x: np.ones((n, 3))})
        (program,) = [p for p in sess._programs.values() if p.feed_shapes and (2, 3) in p.feed_shapes.values()]
        assert program._arrays is None
        # nor does its generated code hold on to them
        assert program._names is not None
        assert all(v is None for k, v in program._names.items() if k.startswith("b"))
        np.testing.assert_allclose(f(first * 0.5), np.tanh(first))  # made again, right


def test_a_seeded_random_node_starts_again_in_every_new_session():
    """As with an op's seed in TF1: the stream is the Session's, so a fresh Session, or a
    disable="all" one used as the reference, draws the same numbers."""
    x = sg.Placeholder((None, 4), dtype="float64", name="x")
    r = sg.random_uniform(x, seed=1)
    one, two = np.ones((1, 4)), np.ones((2, 4))
    expected = np.random.default_rng(1)
    want = [expected.random((1, 4)), expected.random((2, 4)), expected.random((1, 4))]
    for disable in ((), "all", ()):
        with sg.Session(disable=disable) as sess:
            # two Programs (two batch sizes) draw from the Node's one stream, in turn
            got = [sess.run(r, {x: one}), sess.run(r, {x: two}), sess.run(r, {x: one})]
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_a_generator_of_the_users_own_goes_on_across_sessions():
    x = sg.Placeholder((3,), dtype="float64", name="x")
    r = sg.random_uniform(x, rng=np.random.default_rng(5))
    expected = np.random.default_rng(5)
    for _ in range(2):
        with sg.Session() as sess:
            np.testing.assert_array_equal(sess.run(r, {x: np.ones(3)}), expected.random(3))


def test_a_seeded_dropout_used_twice_drops_different_elements_and_repeats_in_a_new_model():
    def masks():
        with sg.Graph().as_default() as graph:
            x = sg.Placeholder((1, 200), dtype="float64", name="x")
            dropout = sg.nn.Dropout(p=0.5, seed=3)
            first, second = dropout(x), dropout(x)
            with sg.Session(graph) as sess:
                feeds = {x: np.ones((1, 200)), sg.nn.training_flag(graph): True}
                return sess.run([first, second], feeds)

    first, second = masks()
    assert not np.array_equal(first, second)
    again = masks()
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])


def test_make_callable_says_which_value_is_wrong_and_takes_a_single_node():
    x = sg.Placeholder((None, 3), dtype="float64", name="x")
    y = sg.Placeholder((None,), dtype="int64", name="y")
    w = sg.Variable(np.ones((3, 4)), name="w")
    loss = sg.softmax_cross_entropy(x @ w, y)
    X, Y = np.ones((5, 3)), np.zeros(5, dtype="int64")
    with sg.Session() as sess:
        step = sess.make_callable(loss, [x, y])
        with pytest.raises(sg.FeedError, match="x expects shape") as info:
            step(Y, X)  # swapped
        assert "this callable takes its values in the order x, y, and value 1 is the one for x" in str(
            info.value
        )
        assert step(X, Y) == pytest.approx(np.log(4))
        # one Node as the feed list, as a fetch may be one Node
        features = sess.make_callable(x @ w, x)
        np.testing.assert_allclose(features(X), X @ np.ones((3, 4)))
        with pytest.raises(sg.FeedError, match="y .* is needed to compute .* but was not fed") as info:
            sess.make_callable(loss, [x])(X)
        assert "make_callable's feed_list" in str(info.value)


def test_a_misspelt_pass_is_refused_when_the_session_is_made():
    with pytest.raises(sg.GraphError, match="no compiler pass named 'fuze'"):
        sg.Session(disable=["fuze"])
    sg.Session(disable="fuse").close()
    sg.Session(disable="all").close()


def test_disable_none_skips_no_pass():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    with sg.Session(disable=None) as sess, sg.Session(debug=True, disable=None) as debug:
        for s in (sess, debug):
            np.testing.assert_array_equal(s.run(x * 2.0, {x: np.ones(2)}), [2.0, 2.0])
    assert sg.compile(x * 2.0, disable=None) is not None


def test_debug_mode_blames_the_op_that_made_a_nan_even_written_over_its_input():
    """div writes its result over sub's buffer: the check after it saw its own Inf in
    sub's place and said 'an input was already not finite' (found by a bug hunt)."""
    x = sg.Placeholder((3,), name="x")
    b = 1.0 / (x - 1.0)
    with sg.Session(debug=True) as sess, pytest.raises(sg.NumericError) as info, np.errstate(divide="ignore"):
        sess.run(b, {x: np.array([1.0, 2.0, 3.0], np.float32)})
    assert "Inf appeared in the result of div (its inputs were all finite, so this op made it)" in str(info.value)


def test_debug_mode_names_a_fed_value_or_variable_that_holds_a_nan():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    w = sg.Variable(np.array([1.0, np.nan]), name="w")
    with sg.Session(debug=True) as sess:
        with pytest.raises(sg.NumericError, match="NaN in the value fed for x, before any op ran"):
            sess.run(sg.exp(x), {x: np.array([0.0, np.nan])})
        with pytest.raises(sg.NumericError, match="NaN in the value of w, before any op ran"):
            sess.run(w * 2.0)


class _SaysFloat32(sg.Op):
    """A user's op whose kernel computes in float64 while its shape rule says float32."""

    name = "test_says_float32"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks

    def infer(self, x):
        return x.shape, np.dtype("float32")

    def forward(self, x):
        return np.asarray(x, dtype=np.float64) * 2


def test_a_kernel_that_breaks_its_shape_rule_is_named_on_its_first_run():
    """It was fetched as float64, or broadcast by the next op (found by a bug hunt)."""
    from symgraph.graph import make_node

    x = sg.Placeholder((3,), dtype="float32", name="x")
    y = make_node(_SaysFloat32(), (x,), name="doubled")
    for debug in (False, True):
        with sg.Session(debug=debug) as sess, pytest.raises(sg.RunError) as info:
            sess.run(y, {x: np.ones(3, np.float32)})
        message = str(info.value)
        assert "the kernel of test_says_float32 returned (3,) float64, but its shape rule (infer) said (3,) float32" in message
        assert "node 'doubled'" in message


class _IgnoresOut(sg.Op):
    """A user's writes_out op whose kernel returns a new array instead of filling out=."""

    name = "test_ignores_out"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    elementwise = True
    writes_out = True
    fresh_output = True

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x, out=None):
        return x / (1 + np.abs(x))


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("where", ["concat", "fused"])
def test_a_kernel_that_ignores_out_is_named_on_its_first_run(where, debug):
    """Its result was lost: a concat whose parts are written in place read uninitialized
    memory, a fused kernel's next step read an unwritten register (found by a bug hunt)."""
    from symgraph.graph import make_node

    x = sg.Placeholder((2,), dtype="float64", name="x")
    if where == "concat":  # each part computed straight into its place in the result
        y = sg.concat([make_node(_IgnoresOut(), (x,), name="soft"), make_node(_IgnoresOut(), (x * 2.0,))])
    else:
        y = sg.tanh(make_node(_IgnoresOut(), (x * 2.0,), name="soft") + 1.0)
    if not debug:  # the setting the bug was seen in (debug mode runs no fuse pass)
        last = sg.compile(y, {x: np.ones(2)}).instructions[-1]
        assert last.op.name == "fused" if where == "fused" else last.in_place
    with sg.Session(debug=debug) as sess, pytest.raises(sg.RunError) as info:
        sess.run(y, {x: np.ones(2)})
    message = str(info.value)
    assert "the kernel of test_ignores_out" in message
    assert "a writes_out op must write its result into out= and return it" in message
    assert "_IgnoresOut.forward" in message
    if debug or where == "concat":  # a fused step has no Node of its own to name
        assert "node 'soft'" in message


def test_a_failed_run_leaves_the_random_streams_where_they_were():
    """As it leaves the Variables: the stream went on by one draw (found by a bug hunt)."""
    x = sg.Placeholder((4,), dtype="float64", name="x")
    ids = sg.Placeholder((2,), dtype="int64", name="ids")
    r = sg.random_uniform(x, seed=3)
    picked = sg.embedding_lookup(sg.Constant(np.ones((3, 2))), ids)
    expected = np.random.default_rng(3)
    with sg.Session() as sess:
        for run in range(4):  # the 1st run loops; the 2nd on run the generated code
            if run % 2:
                with pytest.raises(sg.RunError):
                    sess.run([r, picked], {x: np.ones(4), ids: np.array([0, 7])})
            got, _ = sess.run([r, picked], {x: np.ones(4), ids: np.array([0, 1])})
            np.testing.assert_array_equal(got, expected.random(4))


def test_initialize_takes_one_variable_or_a_list_and_refuses_anything_else():
    """A Placeholder gave a bare AttributeError, another graph's Variable was taken
    silently, and one Variable 'could not be iterated' (found by a bug hunt)."""
    w = sg.Variable(np.array([1.0, 2.0]), name="w")
    v = sg.Variable(np.array([3.0]), name="v")
    x = sg.Placeholder((2,), dtype="float64", name="x")
    with sg.Graph().as_default():
        other = sg.Variable(np.zeros(2), name="other")
    with sg.Session() as sess:
        sess.run([sg.assign(w, w * 10), sg.assign(v, v * 10)])
        sess.initialize(w)
        np.testing.assert_array_equal(sess.run(w), [1.0, 2.0])
        with pytest.raises(sg.GraphError, match=r"initialize takes Variables, got x \(placeholder\)"):
            sess.initialize([v, x])
        with pytest.raises(sg.GraphError, match="another Graph"):
            sess.initialize([other])
        np.testing.assert_array_equal(sess.run(v), [30.0])  # the failed calls changed nothing
        sess.initialize()
        np.testing.assert_array_equal(sess.run(v), [3.0])
        for wrong, said in [(5, "got int: 5"), ("w", "got str: 'w'"), (sess.run, "the method, uncalled")]:
            with pytest.raises(sg.GraphError, match=said):
                sess.initialize(wrong)


def test_initialize_takes_a_module_for_all_of_its_variables():
    layer = sg.nn.Linear(2, 3, dtype="float64", rng=0)
    with sg.Session() as sess:
        first = sess.run(layer.weight)
        sess.run(sg.assign(layer.weight, layer.weight * 0.0))
        sess.initialize(layer)
        np.testing.assert_array_equal(sess.run(layer.weight), first)


def test_restore_of_a_file_that_is_not_a_checkpoint_does_not_suggest_unpickling(tmp_path):
    """NumPy's message ('pickled (object) data ... load it unsafely using allow_pickle=')
    was quoted, pointing at an unsafe way out (found by a bug hunt)."""
    variables, _ = _model()
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"garbage" * 20)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, W=np.array([None], dtype=object))
    with sg.Session() as sess:
        for path in (garbage, pickled):
            with pytest.raises(sg.CheckpointError) as info:
                sess.restore(path)
            message = str(info.value)
            assert "is not a symgraph checkpoint" in message and ".npz file of arrays" in message
            assert "allow_pickle" not in message and "fix: pass a file written by Session.save" in message
        with pytest.raises(sg.CheckpointError, match="cannot read"):
            sess.restore(tmp_path)  # a directory


def test_a_small_new_value_is_copied_and_a_large_one_takes_its_blocks_place():
    """A copy of a few thousand numbers is quicker than a swap's bookkeeping (found by a
    performance hunt): a small Variable keeps its array, a large one takes the
    Program's block; both train as the plain Session does."""
    small = sg.Variable(np.ones(10), name="small")
    large = sg.Variable(np.ones(10_000), name="large")
    loss = sg.sum(small * small) + sg.sum(large * large)
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    with sg.Session() as sess, sg.Session(disable="all") as plain:
        sess.run(train)
        small_array, large_array = sess._values[small], sess._values[large]
        for _ in range(3):
            sess.run(train)
            plain.run(train)
        plain.run(train)
        assert sess._values[small] is small_array  # copied into, every step
        assert sess._values[large] is not large_array  # swapped with a block
        np.testing.assert_array_equal(sess.run(small), plain.run(small))
        np.testing.assert_array_equal(sess.run(large), plain.run(large))


def test_a_session_says_once_when_it_compiles_again_what_it_let_go_of(monkeypatch):
    """Feeding more batch sizes in turn than the Session keeps Programs for compiled on
    every run, 5x a NumPy step, without a word (found by a performance hunt)."""
    monkeypatch.setattr("symgraph.session.KEEP_PROGRAMS", 3)
    x = sg.Placeholder((None, 2), dtype="float64", name="x")
    y = sg.sum(x * 2.0)
    with sg.Session() as sess:
        for n in range(1, 5):  # four shapes: the first is let go of
            sess.run(y, {x: np.ones((n, 2))})
        with pytest.warns(UserWarning, match="compiles a Program again that it let go of") as said:
            for n in range(1, 5):
                sess.run(y, {x: np.ones((n, 2))})
        assert len(said) == 1 and said[0].filename == __file__


def test_a_session_takes_only_a_graph_and_once_closed_does_nothing_more(tmp_path):
    """Session('g') was accepted, to fail at the first run as 'fetch ... belongs to
    another Graph'; a closed Session still saved, restored and initialized (found by a
    bug hunt). TF1 refuses both."""
    with pytest.raises(sg.GraphError, match="Session\\(graph\\) takes a Graph, got str"):
        sg.Session("g")
    w = sg.Variable(np.ones(2), name="w")
    sess = sg.Session()
    sess.save(tmp_path / "w.npz")
    sess.close()
    for call in (lambda: sess.save(tmp_path / "again.npz"), lambda: sess.restore(tmp_path / "w.npz"),
                 sess.initialize, lambda: sess.run(w)):
        with pytest.raises(sg.GraphError, match="this Session is closed"):
            call()


def test_random_uniform_takes_a_shape_as_tf1s_does():
    """random_uniform((2, 3)) took the tuple as a Constant to copy the shape of, and gave
    two numbers (found by a bug hunt). A tuple of ints is a shape: float32 numbers."""
    r = sg.random_uniform((2, 3), seed=0)
    assert (r.shape, r.dtype) == ((2, 3), np.float32)
    with sg.Session() as sess:
        value = sess.run(r)
    assert value.shape == (2, 3) and ((value >= 0) & (value < 1)).all() and len(set(value.flat)) == 6
    assert sg.random_uniform([4], seed=1).shape == (4,)


class _WritesIntoItsInputFromTheSecondCall(sg.Op):
    """A user's op with a mistake: from its second call on, it writes into its input."""

    name = "test_writes_into_input"
    registered = False

    def __init__(self):
        self.calls = 0

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        self.calls += 1
        if self.calls > 1:
            x[0] = 99.0
        return x * 2

    def backward(self, node, grad):
        return (grad * 2,)


@pytest.mark.parametrize("size", [3, 5000])  # a copied commit, and a swapped one (over 32 KB)
def test_a_kernel_writing_into_a_variable_is_refused_on_every_run_not_only_the_first(size):
    """The first run hands kernels read-only views; the generated code of later runs
    passes the Variable's own array, which was writeable: the op rewrote W, also in a
    run that then failed (found by a bug hunt). A Variable's array is now read-only
    between commits."""
    from symgraph.graph import make_node

    w = sg.Variable(np.arange(size, dtype="float64"), name="w")
    y = make_node(_WritesIntoItsInputFromTheSecondCall(), (w,), {})
    train = sg.optim.SGD(lr=0.5).minimize(sg.sum(y))
    with sg.Session() as sess:
        sess.run([y, train])  # the op's first call, which writes nothing: a plain step
        before = sess.run(w).copy()
        np.testing.assert_array_equal(before, np.arange(size) - 1.0)
        for _ in range(3):  # the Program's generated code, from its second run on
            with pytest.raises(sg.RunError, match="a kernel must not modify its inputs"):
                sess.run([y, train])
            np.testing.assert_array_equal(sess.run(w), before)


def test_feeds_that_are_not_values_say_what_was_fed_and_what_to_do():
    """Found by a bug hunt: a Node, None and an int past int64 were all 'not numeric
    (or its rows differ in length)', without a fix: line."""
    x = sg.Placeholder((None, 3), name="x")
    n = sg.Placeholder((None,), dtype="int64", name="n")
    doubled = x * 2
    cases = [
        ({x: doubled}, "is the Node mul, not a value", "fetch it with sess.run(mul)"),
        ({x: None}, "fed for x is None", "feed an array of shape (None, 3)"),
        ({n: [2**70]}, "not an array of numbers: list [1180591620717411303424]", "does not fit int64"),
        ({x: [[1, 2, 3], [1, 2]]}, "rows differ in length", "give every row the same length"),
    ]
    with sg.Session() as sess:
        for feed, words, fix in cases:
            with pytest.raises(sg.FeedError) as caught:
                sess.run(n * 2 if n in feed else x + 1, feed)
            assert words in caught.value.headline and fix in caught.value.hint
        with pytest.raises(sg.FeedError) as caught:
            sess.run(x, [1, 2])
        assert "sess.run(y, {x: batch})" in caught.value.hint
        with pytest.raises(sg.FeedError) as caught:
            sess.make_callable(x + 1, [x])(np.ones((1, 3)), np.ones((1, 3)))
        assert "one value for each Node" in caught.value.hint


def test_restore_of_an_npz_that_save_did_not_write_says_so(tmp_path):
    """Found by a bug hunt: it said 'has checkpoint format None ... save it again with
    this version of symgraph'."""
    w = sg.Variable(np.ones(2), name="w")
    path = tmp_path / "arrays.npz"
    np.savez(path, w=np.zeros(2))
    with sg.Session() as sess, pytest.raises(sg.CheckpointError, match="is not a symgraph checkpoint") as caught:
        sess.restore(path)
    assert "Session.save did not write it" in str(caught.value)
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(w), [1.0, 1.0])


def test_a_sessions_caches_stay_bounded_and_close_lets_the_buffers_go():
    """Found by a bug hunt: run()'s quick-path cache kept one _Runner, and its Program,
    per fetch set for good, so the Programs KEEP_PROGRAMS let go of lived on (and ran
    with buffers again); close() left the buffers to Python's cycle collector."""
    from symgraph.session import KEEP_PROGRAMS

    x = sg.Placeholder((None, 4), dtype="float64", name="x")
    xv = np.ones((2, 4))
    sess = sg.Session()
    first = x * 2.0
    np.testing.assert_array_equal(sess.run(first, {x: xv}), 2 * xv)
    (program,) = sess._programs.values()
    with pytest.warns(UserWarning, match="is a new Node built inside the training loop") as said:
        for i in range(KEEP_PROGRAMS + 8):  # the TF1 mistake: a new fetch every step
            sess.run(x + float(i), {x: xv})
    assert len([w for w in said if "new Node built" in str(w.message)]) == 1  # said once
    assert len(sess._runners) <= KEEP_PROGRAMS and len(sess._programs) <= KEEP_PROGRAMS
    assert program.dropped and program._arrays is None
    with pytest.warns(UserWarning, match="compiles a Program again that it let go of"):
        np.testing.assert_array_equal(sess.run(first, {x: xv}), 2 * xv)  # compiled again, right
    kept = list(sess._programs.values())
    sess.close()
    assert all(p._arrays is None for p in kept)
