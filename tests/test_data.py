"""data.batches: every row once per epoch, reproducible shuffles, batch sizes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

X = np.arange(46).reshape(23, 2)
Y = np.arange(23) * 10


def test_every_row_appears_exactly_once_per_epoch_with_its_label():
    seen = []
    for xb, yb in sg.data.batches(X, Y, batch_size=5, rng=0):
        np.testing.assert_array_equal(yb, xb[:, 0] * 5)  # rows and labels stay paired
        seen.extend(yb // 10)
    assert sorted(seen) == list(range(23))


def test_shuffle_with_the_same_seed_gives_the_same_order():
    def order(rng):
        return np.concatenate([yb for _, yb in sg.data.batches(X, Y, batch_size=4, rng=rng)])

    np.testing.assert_array_equal(order(3), order(3))
    np.testing.assert_array_equal(order(np.random.default_rng(3)), order(np.random.default_rng(3)))
    assert not np.array_equal(order(3), order(4))
    assert not np.array_equal(order(3), Y)


def test_a_generator_gives_a_new_order_each_epoch_and_the_same_sequence_each_time():
    def epochs(rng, n=3):
        return [
            np.concatenate(list(sg.data.batches(X, batch_size=8, rng=rng)))[:, 0] for _ in range(n)
        ]

    a, b = epochs(np.random.default_rng(5)), epochs(np.random.default_rng(5))
    assert not np.array_equal(a[0], a[1])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_without_shuffle_the_rows_come_in_order():
    got = np.concatenate([yb for _, yb in sg.data.batches(X, Y, batch_size=4, shuffle=False)])
    np.testing.assert_array_equal(got, Y)


def test_batches_are_batch_size_rows_and_the_last_one_may_be_smaller():
    sizes = [len(xb) for xb, _ in sg.data.batches(X, Y, batch_size=5)]
    assert sizes == [5, 5, 5, 5, 3]
    assert [len(xb) for xb, _ in sg.data.batches(X, Y, batch_size=23)] == [23]
    assert [len(xb) for xb, _ in sg.data.batches(X, Y, batch_size=100)] == [23]


def test_drop_last_leaves_out_the_short_batch():
    batches = list(sg.data.batches(X, Y, batch_size=5, drop_last=True, rng=1))
    assert [len(xb) for xb, _ in batches] == [5, 5, 5, 5]
    labels = np.concatenate([yb for _, yb in batches])
    assert len(set(labels.tolist())) == 20  # 20 different rows, none twice
    assert [len(xb) for xb, _ in sg.data.batches(X, Y, batch_size=100, drop_last=True)] == []


def test_x_alone_yields_arrays_not_pairs():
    batches = list(sg.data.batches(X, batch_size=10, shuffle=False))
    assert all(isinstance(b, np.ndarray) for b in batches)
    assert [b.shape for b in batches] == [(10, 2), (10, 2), (3, 2)]
    np.testing.assert_array_equal(np.concatenate(batches), X)


def test_lists_are_accepted_like_arrays():
    xb, yb = next(sg.data.batches([[1, 2], [3, 4]], [0, 1], batch_size=2, shuffle=False))
    np.testing.assert_array_equal(xb, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(yb, [0, 1])


def test_mismatched_lengths_are_an_error_at_the_call():
    with pytest.raises(ValueError, match="X has 23 rows but y has 22"):
        sg.data.batches(X, Y[:-1])


def test_a_batch_size_below_one_is_an_error_at_the_call():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        sg.data.batches(X, Y, batch_size=0)


def test_a_batch_size_passed_where_y_goes_gets_a_clear_error():
    with pytest.raises(TypeError, match="batch_size="):
        sg.data.batches(X, 8)


@pytest.mark.parametrize("size", [2.5, "32", None, True])
def test_a_batch_size_that_is_not_an_int_is_refused_at_the_call(size):
    with pytest.raises(TypeError, match="batch_size must be an int"):
        sg.data.batches(np.zeros((10, 2)), batch_size=size)


def test_batches_can_be_looped_over_again_each_loop_an_epoch_in_a_new_order():
    """A one-shot generator: `loader = batches(...)` then a loop over epochs trained one
    epoch and then nothing, without a word (found by a bug hunt). As a DataLoader, each
    loop is an epoch, reshuffled; len() counts its batches; sg.nn.init.seed fixes it."""
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    loader = sg.data.batches(X, y, batch_size=4, rng=0)
    epochs = [[yb.tolist() for _, yb in loader] for _ in range(3)]
    assert all(sorted(sum(e, [])) == list(range(10)) for e in epochs)
    assert epochs[0] != epochs[1] and len(loader) == 3 == len(epochs[0])
    assert len(sg.data.batches(X, batch_size=4, drop_last=True)) == 2
    orders = []
    for _ in range(2):
        sg.nn.init.seed(5)
        orders.append([b.tolist() for b in sg.data.batches(y, batch_size=10)])
    assert orders[0] == orders[1]
    with pytest.raises(TypeError, match="X must hold rows"):
        sg.data.batches(3.0)
