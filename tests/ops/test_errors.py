"""Mistakes are reported where they are made.

A shape or dtype that does not fit raises ShapeError the moment the Node is built, and
the message names the Node that was to be built, the shapes involved and the user's
file:line (here: this file). A bad value found at run time (an id out of range) raises
RunError naming the Node that ran, and changes no Variable.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import symgraph as sg

HERE = os.path.basename(__file__)


def ph(*shape, dtype="float32", name="x"):
    return sg.Placeholder(shape, dtype=dtype, name=name)


def _message_of_build(build) -> str:
    """Run `build` (a one-line lambda); it must raise ShapeError pointing at its own line."""
    with pytest.raises(sg.ShapeError) as info:
        build()
    message = str(info.value)
    assert f"{HERE}:{build.__code__.co_firstlineno}" in message, message
    return message


def test_matmul_inner_dims_error_names_node_shapes_and_line():
    x, W = ph(None, 784), ph(128, 10, name="W")
    with sg.name_scope("dense1"):
        message = _message_of_build(lambda: x @ W)
    for part in ["'dense1/matmul'", "(None, 784)", "(128, 10)", "784 and 128"]:
        assert part in message, message


# (what, a one-line lambda that must fail, texts its message must contain). Every build
# names its Node 'culprit', so the message must say which Node it was about to build.
BAD_BUILDS = [
    ("add-broadcast", lambda: sg.add(ph(3), ph(4, name="y"), name="culprit"), ["(3,)", "(4,)"]),
    ("sub-of-bools", lambda: sg.sub(ph(2, dtype="bool"), ph(2, dtype="bool"), name="culprit"),
     ["bool"]),
    ("where-float-condition", lambda: sg.where(ph(3), ph(3), ph(3), name="culprit"),
     ["float32", "condition"]),
    ("where-broadcast", lambda: sg.where(ph(3, dtype="bool"), ph(4), 0.0, name="culprit"),
     ["(3,)", "(4,)"]),
    ("matmul-stack-inner", lambda: sg.matmul(ph(2, 3, 4), ph(2, 5, 6), name="culprit"),
     ["(2, 3, 4)", "(2, 5, 6)", "4 and 5"]),
    ("matmul-batch", lambda: sg.matmul(ph(2, 3, 4), ph(3, 4, 5), name="culprit"),
     ["(2, 3, 4)", "(3, 4, 5)", "batch"]),
    ("matmul-scalar", lambda: sg.matmul(ph(), ph(3, name="y"), name="culprit"), ["()", "*"]),
    ("matmul-vector-inner", lambda: sg.matmul(ph(3), ph(4, 2), name="culprit"),
     ["(3,)", "(4, 2)"]),
    ("reshape-size", lambda: sg.reshape(ph(3, 4), (5,), name="culprit"), ["(3, 4)", "(5,)"]),
    ("reshape-minus-one", lambda: sg.reshape(ph(3, 4), (5, -1), name="culprit"), ["(3, 4)"]),
    ("reshape-two-minus-ones", lambda: sg.reshape(ph(3, 4), (-1, -1), name="culprit"), ["-1"]),
    ("transpose-not-a-permutation", lambda: sg.transpose(ph(3, 4), (0, 0), name="culprit"),
     ["(3, 4)"]),
    ("transpose-axis-out-of-range", lambda: sg.transpose(ph(3, 4), (0, 5), name="culprit"),
     ["(3, 4)", "5"]),
    ("concat-shapes", lambda: sg.concat([ph(2, 3), ph(2, 4, name="y")], name="culprit"),
     ["(2, 3)", "(2, 4)"]),
    ("concat-axis", lambda: sg.concat([ph(2, 3), ph(2, 3, name="y")], axis=2, name="culprit"),
     ["(2, 3)", "2"]),
    ("stack-shapes", lambda: sg.stack([ph(3), ph(4, name="y")], name="culprit"), ["(3,)", "(4,)"]),
    ("stack-axis", lambda: sg.stack([ph(3), ph(3, name="y")], axis=3, name="culprit"), ["(3,)"]),
    ("squeeze-not-one", lambda: sg.squeeze(ph(3, 4), 0, name="culprit"), ["(3, 4)"]),
    ("squeeze-axis", lambda: sg.squeeze(ph(1, 4), 5, name="culprit"), ["(1, 4)", "5"]),
    ("expand_dims-axis", lambda: sg.expand_dims(ph(3, 4), 3, name="culprit"), ["(3, 4)", "3"]),
    ("expand_dims-two-axes", lambda: sg.expand_dims(ph(3, 4), (0, 1), name="culprit"),
     ["(3, 4)", "(0, 1)"]),
    ("getitem-out-of-range", lambda: sg.getitem(ph(3, 4), 5, name="culprit"), ["(3, 4)", "5"]),
    ("getitem-too-many", lambda: sg.getitem(ph(3, 4), (1, 2, 3), name="culprit"), ["(3, 4)"]),
    ("getitem-array-index", lambda: sg.getitem(ph(3, 4), [0, 2], name="culprit"), ["[0, 2]"]),
    ("getitem-zero-step", lambda: sg.getitem(ph(3), slice(None, None, 0), name="culprit"),
     ["step"]),
    ("broadcast_to", lambda: sg.broadcast_to(ph(3), (4,), name="culprit"), ["(3,)", "(4,)"]),
    ("sum_to-grow", lambda: sg.ops.shape.sum_to(ph(3), (2, 3), name="culprit"),
     ["(3,)", "(2, 3)"]),
    ("sum-axis", lambda: sg.sum(ph(3, 4), axis=2, name="culprit"), ["(3, 4)", "2"]),
    ("mean-axes", lambda: sg.mean(ph(3, 4), axis=(0, -3), name="culprit"), ["(3, 4)", "-3"]),
    ("max-repeated-axis", lambda: sg.max(ph(3, 4), axis=(1, -1), name="culprit"), ["(3, 4)"]),
    ("argmax-axis", lambda: sg.argmax(ph(3, 4), axis=2, name="culprit"), ["(3, 4)", "2"]),
    ("softmax-axis", lambda: sg.softmax(ph(3, 4), axis=2, name="culprit"), ["(3, 4)", "2"]),
    ("softmax-two-axes", lambda: sg.softmax(ph(3, 4), axis=(0, 1), name="culprit"),
     ["(3, 4)", "(0, 1)"]),
    ("argmax-two-axes", lambda: sg.argmax(ph(3, 4), axis=(0, 1), name="culprit"), ["(0, 1)"]),
    ("softmax-of-ints", lambda: sg.softmax(ph(3, dtype="int64"), name="culprit"), ["int64"]),
    ("log_softmax-axis", lambda: sg.log_softmax(ph(3), axis=1, name="culprit"), ["(3,)"]),
    ("cross-entropy-label-shape",
     lambda: sg.softmax_cross_entropy(ph(3, 5), ph(4, dtype="int64", name="y"), name="culprit"),
     ["(3, 5)", "(4,)"]),
    ("cross-entropy-float-labels",
     lambda: sg.softmax_cross_entropy(ph(3, 5), ph(3, name="y"), name="culprit"), ["float32"]),
    ("embedding-3d-params",
     lambda: sg.embedding_lookup(ph(2, 3, 4), ph(5, dtype="int64"), name="culprit"),
     ["(2, 3, 4)"]),
    ("embedding-float-ids", lambda: sg.embedding_lookup(ph(5, 3), ph(4), name="culprit"),
     ["float32"]),
    ("one_hot-float-labels", lambda: sg.one_hot(ph(4), 3, name="culprit"), ["float32"]),
    ("clip-bounds", lambda: sg.clip(ph(3), 1.0, 0.0, name="culprit"), ["lo=1.0", "hi=0.0"]),
    ("assign-shape", lambda: sg.assign(sg.Variable(np.zeros(3)), ph(4), name="culprit"),
     ["(3,)", "(4,)"]),
    ("assign-to-a-placeholder", lambda: sg.assign(ph(3), ph(3), name="culprit"), ["x"]),
    ("group-of-a-non-update", lambda: sg.group(ph(3), name="culprit"), ["x"]),
    ("split-uneven", lambda: sg.split(ph(3, 4), 3, axis=1), ["(3, 4)", "3"]),
    ("split-sizes", lambda: sg.split(ph(3, 4), [1, 2], axis=1), ["(3, 4)", "[1, 2]"]),
    ("unstack-unknown-dim", lambda: sg.unstack(ph(None, 4)), ["(None, 4)"]),
    ("concat-nothing", lambda: sg.concat([], name="culprit"), []),
    ("stack-nothing", lambda: sg.stack([], name="culprit"), []),
    ("broadcast_to-none", lambda: sg.broadcast_to(ph(3), (None, 3), name="culprit"), ["(None, 3)"]),
    ("sum-repeated-axis", lambda: sg.sum(ph(3, 4), axis=(1, 1), name="culprit"), ["(3, 4)", "(1, 1)"]),
    ("group-nothing", lambda: sg.group(name="culprit"), []),
    ("placeholder-minus-one", lambda: sg.Placeholder((-1, 3), name="culprit"), ["(-1, 3)"]),
]

# what the `fix:` line of some of BAD_BUILDS says (every one of them has a fix: line)
HINTS = {
    "concat-shapes": "make every dim but axis 0 equal",
    "concat-nothing": "pass a list of one or more Nodes",
    "stack-nothing": "pass a list of one or more Nodes",
    "transpose-not-a-permutation": "give each axis 0..1 once, e.g. (1, 0)",
    "squeeze-not-one": "give only axes of size 1",
    "broadcast_to": "must be 1 or equal the target's",
    "broadcast_to-none": "pass like=",
    "one_hot-float-labels": "sg.cast(labels, 'int64')",
    "clip-bounds": "give lo <= hi: sg.clip(x, 0.0, 1.0)",
    "split-uneven": "a number of parts that divides 4",
    "sum-repeated-axis": "name each axis once, e.g. axis=(1,)",
    "group-nothing": "sg.group(step1, step2)",
    "placeholder-minus-one": "use None for a dim not known until the run: (None, 3)",
}


@pytest.mark.parametrize("what, build, parts", BAD_BUILDS, ids=[b[0] for b in BAD_BUILDS])
def test_bad_build_raises_shape_error_naming_node_shapes_and_line(what, build, parts):
    message = _message_of_build(build)
    if "culprit" in build.__code__.co_consts:
        assert "'culprit'" in message, message
    for part in parts:
        assert part in message, message
    assert "\n  fix: " in message, message
    assert HINTS.get(what, "") in message.split("\n  fix: ")[1], message


def test_a_failed_build_adds_no_node_to_the_graph():
    graph = sg.get_default_graph()
    x, W = ph(None, 784), ph(128, 10, name="W")
    before = len(graph)
    with pytest.raises(sg.ShapeError):
        x @ W
    assert len(graph) == before


# -- run time: ids out of range ----------------------------------------------------------------
def _run_error(fetch, feed) -> str:
    with pytest.raises(sg.RunError) as info:
        sg.Session().run(fetch, feed)
    return str(info.value)


@pytest.mark.parametrize("bad_id", [5, -1])
def test_embedding_id_out_of_range_raises_run_error_naming_the_node(bad_id):
    params = sg.Variable(np.ones((5, 3)), name="table")
    ids = ph(4, dtype="int64", name="ids")
    rows = sg.embedding_lookup(params, ids, name="lookup")
    message = _run_error(rows, {ids: [0, 1, bad_id, 2]})
    assert "'lookup'" in message and str(bad_id) in message and "0..4" in message, message


@pytest.mark.parametrize("bad_label", [3, -1])
def test_cross_entropy_label_out_of_range_raises_run_error_naming_the_node(bad_label):
    logits, labels = ph(2, 3, name="logits"), ph(2, dtype="int64", name="labels")
    loss = sg.softmax_cross_entropy(logits, labels, name="loss")
    message = _run_error(loss, {logits: np.zeros((2, 3)), labels: [0, bad_label]})
    assert "'loss'" in message and str(bad_label) in message and "0..2" in message, message


def test_cross_entropy_gradient_with_a_label_out_of_range_raises_run_error():
    logits, labels = ph(2, 3, name="logits"), ph(2, dtype="int64", name="labels")
    (grad,) = sg.gradients(sg.softmax_cross_entropy(logits, labels), [logits])
    message = _run_error(grad, {logits: np.zeros((2, 3)), labels: [0, 3]})
    assert "3" in message and "0..2" in message, message


def test_one_hot_label_out_of_range_raises_run_error_naming_the_node():
    labels = ph(2, dtype="int64", name="labels")
    message = _run_error(sg.one_hot(labels, 3, name="onehot"), {labels: [0, 3]})
    assert "'onehot'" in message and "0..2" in message, message


def test_run_that_fails_on_an_embedding_id_changes_no_variable():
    table = sg.Variable(np.arange(6.0).reshape(3, 2), name="table")
    ids = ph(2, dtype="int64", name="ids")
    loss = sg.sum(sg.embedding_lookup(table, ids))
    (grad,) = sg.gradients(loss, [table])
    step = sg.assign(table, table - grad)
    with sg.Session() as sess:
        with pytest.raises(sg.RunError):
            sess.run([loss, step], {ids: [0, 3]})
        np.testing.assert_array_equal(sess.run(table), np.arange(6.0).reshape(3, 2))
