"""The quick paths of Session.run and make_callable give what the full path gives.

After a first run, a Session checks only the fed values (arrays of the shapes and
dtypes that passed before go straight to the cached Program), and a make_callable
function does the same from its second call. These tests run each case three ways,
the first run (full checks), a repeated run (quick path) and a callable, and expect
the same values, the same errors with the same messages, and the same Variables.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

F32 = np.float32


def _error(call):
    """(type, message) of what `call()` raises; None if it does not raise."""
    try:
        call()
    except Exception as e:  # noqa: BLE001 - any error is compared, whatever its type
        return type(e), str(e)
    return None


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


# -- values ------------------------------------------------------------------------------------
def test_a_callable_and_repeated_runs_answer_what_the_first_run_answers():
    x = sg.Placeholder((None, 3), name="x")
    w = sg.Variable(np.arange(3, dtype=F32), name="w")
    y = sg.sum(x * w + 1.0, axis=1)
    total = sg.sum(y)
    xv = np.arange(6, dtype=F32).reshape(2, 3)
    with sg.Session() as sess:
        first = sess.run(total, {x: xv})
        again = [sess.run(total, {x: xv}) for _ in range(3)]
        f = sess.make_callable(total, [x])
        called = [f(xv) for _ in range(3)]
        for value in again + called:
            _same(value, first)
        assert isinstance(first, np.float32)  # a 0-d answer is a NumPy scalar, every way
        # every fetch structure, as run answers it
        structure = {"y": y, "both": [total, (y, x)]}
        want = sess.run(structure, {x: xv})
        g = sess.make_callable(structure, [x])
        for got in (sess.run(structure, {x: xv}), g(xv), g(xv)):
            assert got.keys() == want.keys() and isinstance(got["both"][1], tuple)
            _same(got["y"], want["y"])
            _same(got["both"][0], want["both"][0])
            _same(got["both"][1][0], want["both"][1][0])
            _same(got["both"][1][1], want["both"][1][1])


def test_training_by_callable_or_by_run_gives_the_same_variables():
    def train(use_callable):
        sg.reset_default_graph()
        x = sg.Placeholder((None, 2), name="x")
        w = sg.Variable(np.array([0.5, -0.5], dtype=F32), name="w")
        loss = sg.mean((x * w - 1.0) ** 2)
        step = sg.optim.SGD(lr=0.1, momentum=0.9).minimize(loss)
        rng = np.random.default_rng(0)
        batches = [rng.normal(size=(n, 2)).astype(F32) for n in (4, 4, 3, 4, 4)]
        with sg.Session() as sess:
            f = sess.make_callable([loss, step], [x])
            losses = [
                f(b)[0] if use_callable else sess.run([loss, step], {x: b})[0] for b in batches
            ]
            return losses, sess.run(w)

    (losses_a, w_a), (losses_b, w_b) = train(False), train(True)
    assert losses_a == losses_b
    _same(w_a, w_b)


def test_fed_nodes_in_any_order_and_unneeded_ones_reach_the_right_slots():
    a = sg.Placeholder((2,), name="a")
    b = sg.Placeholder((2,), name="b")
    unused = sg.Placeholder((2,), name="unused")
    y = a - 2.0 * b
    av, bv, uv = (np.array(v, dtype=F32) for v in ([5.0, 6.0], [1.0, 2.0], [9.0, 9.0]))
    want = np.array([3.0, 2.0], dtype=F32)
    with sg.Session() as sess:
        for _ in range(3):
            _same(sess.run(y, {b: bv, unused: uv, a: av}), want)
            _same(sess.run(y, {a: av, b: bv}), want)
        f = sess.make_callable(y, [b, unused, a])
        for _ in range(3):
            _same(f(bv, uv, av), want)
        # a Node fed twice: the last value counts, as in a dict
        twice = sess.make_callable(y, [a, b, a])
        for _ in range(3):
            _same(twice(bv, bv, av), want)


def test_repeated_runs_see_every_change_to_the_variables():
    v = sg.Variable(np.array([1.0, 2.0], dtype=F32), name="v")
    double = sg.assign(v, v * 2.0)
    read = v + 0.0
    with sg.Session() as sess:
        f = sess.make_callable(read)
        for _ in range(3):
            _same(sess.run(read), np.array([1.0, 2.0], dtype=F32))
            _same(f(), np.array([1.0, 2.0], dtype=F32))
        sess.run(double)
        _same(sess.run(read), np.array([2.0, 4.0], dtype=F32))
        _same(f(), np.array([2.0, 4.0], dtype=F32))
        sess.initialize()
        _same(sess.run(read), np.array([1.0, 2.0], dtype=F32))
        _same(f(), np.array([1.0, 2.0], dtype=F32))


def test_a_restore_is_seen_by_repeated_runs_and_callables(tmp_path):
    v = sg.Variable(np.array([1.0], dtype=F32), name="v")
    inc = sg.assign(v, v + 1.0)
    with sg.Session() as sess:
        f = sess.make_callable(v * 1.0)
        path = sess.save(tmp_path / "ckpt.npz")
        for _ in range(3):
            sess.run(inc)
            f()
        assert f().tolist() == [4.0]
        sess.restore(path)
        assert f().tolist() == [1.0] and sess.run(v * 1.0).tolist() == [1.0]


# -- what the quick paths still check ------------------------------------------------------------
#: values that the full check refuses for a (None, 2) float32 Placeholder
BAD_FEEDS = {
    "wrong shape": np.ones((3, 3), dtype=F32),
    "wrong rank": np.ones(2, dtype=F32),
    "complex into float": np.array([[1.0 + 1j, 2.0]]),
    "ragged rows": [[1.0, 2.0], [3.0]],
    "text": "text",
}


@pytest.mark.parametrize("bad", BAD_FEEDS.values(), ids=BAD_FEEDS.keys())
def test_after_good_runs_a_bad_feed_raises_what_the_first_run_raises(bad):
    x = sg.Placeholder((None, 2), name="x")
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    step = sg.assign(v, v + sg.sum(x, axis=0))
    good = np.ones((4, 2), dtype=F32)
    with sg.Session() as fresh:
        want = _error(lambda: fresh.run([step, x], {x: bad}))
    assert want[0] is sg.FeedError
    with sg.Session() as sess:
        f = sess.make_callable([step, x], [x])
        for _ in range(3):  # primes both quick paths
            sess.run([step, x], {x: good})
            f(good)
        before = sess.run(v).copy()
        assert _error(lambda: sess.run([step, x], {x: bad})) == want
        assert _error(lambda: f(bad)) == want
        np.testing.assert_array_equal(sess.run(v), before)  # nothing changed


def test_a_value_cast_by_the_full_check_is_cast_after_good_runs_too():
    x = sg.Placeholder((2,), name="x")  # float32
    with sg.Session() as sess:
        f = sess.make_callable(x * 1.0, [x])
        for _ in range(3):
            sess.run(x * 1.0, {x: np.ones(2, dtype=F32)})
            f(np.ones(2, dtype=F32))
        for got in (
            sess.run(x * 1.0, {x: np.array([0.5, 1.5])}),
            f(np.array([0.5, 1.5])),
            f([0.5, 1.5]),
        ):
            _same(got, np.array([0.5, 1.5], dtype=F32))


def test_an_array_reshaped_in_place_after_good_runs_is_checked_again():
    x = sg.Placeholder((None, 2), name="x")
    value = np.ones((2, 2), dtype=F32)
    with sg.Session() as sess:
        f = sess.make_callable(x * 2.0, [x])
        for _ in range(3):
            sess.run(x * 2.0, {x: value})
            f(value)
        value.shape = (4,)  # the same array object, another shape
        with pytest.raises(sg.FeedError, match=r"x expects shape \(None, 2\) but was fed \(4,\)"):
            sess.run(x * 2.0, {x: value})
        with pytest.raises(sg.FeedError, match=r"x expects shape \(None, 2\) but was fed \(4,\)"):
            f(value)
        value.shape = (1, 4)
        value.dtype = np.complex64  # another dtype: now (1, 2), a shape that fits
        with pytest.raises(sg.FeedError, match="x expects float32 but was fed complex64"):
            sess.run(x * 2.0, {x: value})
        with pytest.raises(sg.FeedError, match="x expects float32 but was fed complex64"):
            f(value)


def test_array_subclasses_and_numpy_scalars_take_the_full_path():
    """A subclass of ndarray of the right shape and dtype is not taken as it is: the full
    check turns it into a plain array, so what comes back is a plain array."""

    class Tagged(np.ndarray):
        pass

    x = sg.Placeholder((2,), name="x")
    s = sg.Placeholder((), name="s")
    with sg.Session() as sess:
        f = sess.make_callable(x, [x])
        for _ in range(3):
            sess.run(x, {x: np.ones(2, dtype=F32)})
            f(np.ones(2, dtype=F32))
        tagged = np.ones(2, dtype=F32).view(Tagged)
        assert type(sess.run(x, {x: tagged})) is np.ndarray
        assert type(f(tagged)) is np.ndarray
        g = sess.make_callable(s * 2.0, [s])
        for _ in range(3):
            g(np.array(1.0, dtype=F32))
        _same(g(F32(3.0)), F32(6.0))
        _same(g(3.0), F32(6.0))


def test_a_callable_takes_exactly_one_value_per_fed_node():
    x = sg.Placeholder((), name="x")
    with sg.Session() as sess:
        f = sess.make_callable(x * 2.0, [x])
        f(np.array(1.0, dtype=F32))
        f(np.array(1.0, dtype=F32))
        with pytest.raises(sg.FeedError, match="takes 1 value"):
            f()
        with pytest.raises(sg.FeedError, match="takes 1 value"):
            f(np.array(1.0, dtype=F32), np.array(2.0, dtype=F32))


def test_a_missing_feed_is_refused_however_often_the_fetch_ran():
    x = sg.Placeholder((2,), name="x")
    y = sg.sum(x * 2.0, name="y")
    with sg.Session() as sess:
        for _ in range(3):
            sess.run(y, {x: np.ones(2, dtype=F32)})
        with pytest.raises(sg.FeedError, match="x .* is needed to compute y but was not fed"):
            sess.run(y)
        with pytest.raises(sg.FeedError, match="x .* is needed to compute y but was not fed"):
            sess.make_callable(y)()


def test_a_kernel_failing_on_the_quick_path_is_reported_the_same_and_changes_nothing():
    E = sg.Variable(np.arange(6, dtype=F32).reshape(3, 2), name="E")
    v = sg.Variable(np.zeros(2, dtype=F32), name="v")
    ids = sg.Placeholder((2,), dtype="int64", name="ids")
    rows = sg.embedding_lookup(E, ids)
    step = sg.group(sg.assign(v, v + 10.0), sg.assign(E, E * 0.0))
    good, bad = np.array([0, 2]), np.array([0, 3])  # same shape and dtype: the quick check passes
    with sg.Session() as fresh:
        want = _error(lambda: fresh.run([step, rows], {ids: bad}))
    assert want[0] is sg.RunError and "embedding id" in want[1] and "fix:" in want[1]
    with sg.Session() as sess:
        f = sess.make_callable([step, rows], [ids])
        for _ in range(3):  # the first run loops over instructions; later ones run generated code
            assert _error(lambda: sess.run([step, rows], {ids: bad})) == want
            assert _error(lambda: f(bad)) == want
            np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])
        f(good)
        np.testing.assert_array_equal(sess.run(v), [10.0, 10.0])


def test_a_closed_session_refuses_quick_runs_and_callables():
    x = sg.Placeholder((), name="x")
    sess = sg.Session()
    f = sess.make_callable(x * 2.0, [x])
    for _ in range(3):
        sess.run(x * 2.0, {x: np.array(1.0, dtype=F32)})
        f(np.array(1.0, dtype=F32))
    sess.close()
    with pytest.raises(sg.GraphError, match="closed"):
        sess.run(x * 2.0, {x: np.array(1.0, dtype=F32)})
    with pytest.raises(sg.GraphError, match="closed"):
        f(np.array(1.0, dtype=F32))
    with pytest.raises(sg.GraphError, match="closed"):
        sess.make_callable(x * 2.0, [x])


def test_fetches_and_feed_keys_are_checked_on_every_run_that_is_not_a_repeat():
    x = sg.Placeholder((), name="x")
    y = x * 2.0
    with sg.Graph().as_default():
        other = sg.Placeholder((), name="other")
    one = np.array(1.0, dtype=F32)
    with sg.Session() as sess:
        for _ in range(3):
            sess.run(y, {x: one})
            sess.run([y, x], {x: one})
        with pytest.raises(sg.FetchError, match="only Nodes can be fetched"):
            sess.run([y, "x"], {x: one})
        with pytest.raises(sg.FeedError, match="values are fed for Nodes .*, got str"):
            sess.run(y, {x: one, "x": one})
        with pytest.raises(sg.FeedError, match="other belongs to another Graph"):
            sess.run(y, {x: one, other: one})
        with pytest.raises(sg.FeedError, match="must be a dict"):
            sess.run(y, [(x, one)])
        with pytest.raises(sg.GraphError, match="another Graph"):
            sess.run(other)
        with pytest.raises(sg.FeedError, match="other belongs to another Graph"):
            sess.make_callable(y, [x, other])


def test_a_flat_dict_of_fetches_takes_the_quick_path_and_keeps_its_keys():
    """A dict of Nodes went through the full checks on every run (+15 us a step on a
    tiny model; found by a performance hunt). It is keyed by its (name, Node) pairs:
    the same Nodes under other names, or in another order, are answered as asked."""
    x = sg.Placeholder((None, 3), name="x")
    w = sg.Variable(np.arange(3, dtype=F32), name="w")
    total = sg.sum(x * w)
    xv = np.ones((2, 3), F32)
    with sg.Session() as sess:
        first = sess.run({"total": total, "w": w}, {x: xv})
        runners = len(sess._runners)
        again = sess.run({"total": total, "w": w}, {x: xv})
        assert runners == len(sess._runners) == 1  # one runner, found again by its key
        renamed = sess.run({"w": w, "sum": total}, {x: xv})
    assert list(first) == list(again) == ["total", "w"] and list(renamed) == ["w", "sum"]
    _same(again["total"], first["total"])
    _same(renamed["sum"], first["total"])
