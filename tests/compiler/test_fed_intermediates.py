"""A Node the user feeds keeps its op but is not computed: no rewrite rule may treat it
as that op. (Each case below crashed, or answered wrongly, when a rule matched on a
fed vertex's op.)"""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

X = np.array([[0.2, -1.0, 3.0], [1.5, 0.0, -2.0]])
FED = np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]])


# each: (the Node fed, what is fetched, the value fed, the answer expected)
def _softmax_then_log(x):
    fed = sg.softmax(x)
    return fed, sg.log(fed), FED, np.log(FED)


def _ones_like_times(x):
    fed = sg.ones_like(x)  # fed with other values than ones: x * fed is not x
    return fed, x * fed, FED, X * FED


def _neg_of_neg(x):
    fed = -x
    return fed, -fed, FED, -FED


def _transpose_of_transpose(x):
    fed = sg.transpose(x)  # (3, 2)
    return fed, sg.transpose(fed), FED.T, FED


@pytest.mark.parametrize(
    "case", [_softmax_then_log, _ones_like_times, _neg_of_neg, _transpose_of_transpose]
)
def test_a_fed_node_is_not_matched_by_its_op(case):
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    fed, y, value, expected = case(x)
    with sg.Session() as sess:
        got = sess.run(y, {x: X, fed: value})
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_fed_matmul_term_of_a_sum_is_not_merged():
    rng = np.random.default_rng(0)
    xs = [sg.Placeholder((4, 3), dtype="float64", name=f"x{i}") for i in range(4)]
    w = sg.Placeholder((3, 4), dtype="float64", name="w")
    terms = [x @ w for x in xs]
    total = terms[0] + terms[1] + terms[2] + terms[3]
    feeds = {p: rng.normal(size=p.shape) for p in xs + [w]}
    feeds[terms[0]] = np.full((4, 4), 7.0)  # the first term fed: its own value counts
    expected = 7.0 + sum(feeds[x] @ feeds[w] for x in xs[1:])
    with sg.Session() as sess:
        np.testing.assert_allclose(sess.run(total, feeds), expected, rtol=1e-12)
