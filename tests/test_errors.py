"""Every error symgraph raises says what is wrong, which Node, where the user made it, and what to do.

Each test provokes one error type and checks the three parts of its message:
the headline (with shapes where they matter), the line
`node 'NAME' (OP) created at test_errors.py:LINE`, and a `fix:` line.
"""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest

import symgraph as sg

HERE = os.path.basename(__file__)


def _here() -> int:
    return sys._getframe(1).f_lineno


def assert_message(error, name, op, line, *parts):
    """The message names the Node, its op and the user's line, has a fix, and each part."""
    message = str(error)
    assert isinstance(error, sg.SymgraphError)
    assert f"node '{name}' ({op}) created at {HERE}:{line}" in message, message
    assert "\n  fix: " in message, message
    for part in parts:
        assert part in message, (part, message)


def test_shape_error_names_the_node_about_to_be_built_and_both_shapes():
    x = sg.Placeholder((None, 784), name="x")
    W = sg.Variable(np.zeros((128, 10), dtype=np.float32), name="W")
    with sg.name_scope("dense1"), pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        x @ W
    assert_message(
        info.value, "dense1/matmul", "matmul", line,
        "matmul of x (None, 784) and W (128, 10): inner dimensions 784 and 128 differ",
    )
    assert str(info.value).startswith("matmul of x")


def test_shape_error_for_broadcasting_names_both_inputs():
    a = sg.Placeholder((4, 3), name="a")
    b = sg.Placeholder((5,), name="b")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        a + b
    assert_message(info.value, "add", "add", line, "a (4, 3)", "b (5,)", "dims 3 and 5 differ")
    assert "add" not in [n.name for n in sg.get_default_graph().nodes]  # nothing half-built


def test_feed_error_for_a_wrong_shape_names_the_placeholder_and_both_shapes():
    x, line = sg.Placeholder((None, 2), name="x"), _here()
    with sg.Session() as sess, pytest.raises(sg.FeedError) as info:
        sess.run(x * 2.0, {x: np.ones((3, 5))})
    assert_message(info.value, "x", "placeholder", line, "(None, 2)", "(3, 5)")


def test_feed_error_for_a_wrong_dtype_names_both_dtypes():
    ids, line = sg.Placeholder((2,), dtype="int64", name="ids"), _here()
    with sg.Session() as sess, pytest.raises(sg.FeedError) as info:
        sess.run(ids, {ids: np.zeros(2, dtype=np.float32)})
    assert_message(info.value, "ids", "placeholder", line, "int64", "float32", "np.asarray")


def test_feed_error_for_a_missing_feed_names_the_placeholder_and_what_needs_it():
    x, line = sg.Placeholder((3,), name="x"), _here()
    y = sg.sum(x, name="total")
    with sg.Session() as sess, pytest.raises(sg.FeedError) as info:
        sess.run(y)
    assert_message(info.value, "x", "placeholder", line, "(3,)", "total", "feed_dict")


def test_graph_error_for_a_cycle_names_the_nodes_of_the_cycle():
    a = sg.Placeholder((), name="a")
    b = sg.add(a, 1.0, name="b")
    c = sg.mul(b, 2.0, name="c")
    b.inputs = (c, b.inputs[1])
    with pytest.raises(sg.GraphError) as info:
        sg.compile(b)
    message = str(info.value)
    assert "cycle: b -> c -> b" in message or "cycle: c -> b -> c" in message
    named = info.value.node  # the error may start the cycle at either Node
    assert named in (b, c)
    assert_message(info.value, named.name, named.op.name, named.line)


def test_graph_error_for_two_updates_names_the_variable_and_both_updates():
    v = sg.Variable(np.zeros(2), name="v")
    first = sg.assign(v, v + 1.0, name="first")
    second, line = sg.assign(v, v + 2.0, name="second"), _here()
    with sg.Session() as sess, pytest.raises(sg.GraphError) as info:
        sess.run([first, second])
    assert_message(info.value, "second", "assign", line, "Variable v", "first")


def test_graph_error_for_a_fetch_from_another_graph_names_it():
    with sg.Graph().as_default():
        z, line = sg.Placeholder((), name="z"), _here()
    with sg.Session() as sess, pytest.raises(sg.GraphError) as info:
        sess.run(z)
    assert_message(info.value, "z", "placeholder", line, "another Graph")


def test_gradient_error_for_a_non_scalar_y_names_y_and_its_shape():
    x = sg.Placeholder((3, 2), name="x")
    y, line = sg.tanh(x, name="y"), _here()
    with pytest.raises(sg.GradientError) as info:
        sg.gradients(y, [x])
    assert_message(info.value, "y", "tanh", line, "(3, 2)", "grad_y")


def test_gradient_error_for_an_unconnected_x_names_x():
    x = sg.Placeholder((3,), name="x")
    lonely, line = sg.Placeholder((2,), name="lonely"), _here()
    with pytest.raises(sg.GradientError) as info:
        sg.gradients(sg.sum(x), [lonely])
    assert_message(info.value, "lonely", "placeholder", line, "does not depend on lonely")


def test_gradient_error_for_a_path_through_argmax_names_argmax():
    x = sg.Placeholder((3,), name="x")
    w = sg.Placeholder((), name="w")
    picked, line = sg.argmax(x, name="picked"), _here()
    with pytest.raises(sg.GradientError) as info:
        sg.gradients(sg.cast(picked, "float32") * w, [x])
    assert_message(info.value, "picked", "argmax", line, "no gradient")


def test_run_error_names_the_node_whose_kernel_failed_and_its_inputs():
    E = sg.Variable(np.zeros((3, 2), dtype=np.float32), name="E")
    ids = sg.Placeholder((None,), dtype="int64", name="ids")
    rows, line = sg.embedding_lookup(E, ids, name="rows"), _here()
    with sg.Session() as sess, pytest.raises(sg.RunError) as info:
        sess.run(rows, {ids: [7]})
    assert_message(info.value, "rows", "embedding_lookup", line, "(3, 2) float32", "out of range")
    assert isinstance(info.value.__cause__, IndexError)  # the original is kept, as the cause


def test_numeric_error_names_the_first_node_that_made_a_nan():
    x = sg.Placeholder((2,), name="x")
    root, line = sg.sqrt(x, name="root"), _here()
    y = root * 2.0 + 1.0
    with (
        sg.Session(debug=True) as sess,
        np.errstate(invalid="ignore"),
        pytest.raises(sg.NumericError) as info,
    ):
        sess.run(y, {x: [-4.0, 4.0]})
    assert_message(info.value, "root", "sqrt", line, "NaN", "(2,) float32")


def test_checkpoint_error_for_a_shape_mismatch_names_the_variable_and_both_shapes(tmp_path):
    with sg.Graph().as_default() as other:
        sg.Variable(np.zeros(5, dtype=np.float32), name="W")
        with sg.Session(graph=other) as sess:
            sess.save(tmp_path / "ck.npz")
    _, line = sg.Variable(np.zeros((2, 3), dtype=np.float32), name="W"), _here()
    with sg.Session() as sess, pytest.raises(sg.CheckpointError) as info:
        sess.restore(tmp_path / "ck.npz")
    assert_message(info.value, "W", "variable", line, "(5,)", "(2, 3)")


def test_checkpoint_error_for_a_missing_variable_lists_what_the_file_has(tmp_path):
    sg.Variable(np.zeros(2, dtype=np.float32), name="a")
    with sg.Session() as sess:
        sess.save(tmp_path / "ck.npz")
    sg.Variable(np.zeros(2, dtype=np.float32), name="b")
    with sg.Session() as sess, pytest.raises(sg.CheckpointError) as info:
        sess.restore(tmp_path / "ck.npz")
    message = str(info.value)
    assert "no value for Variable(s) b" in message and "it has a" in message
    assert "\n  fix: " in message


def test_fetch_error_says_what_was_passed_and_what_to_do():
    with sg.Session() as sess, pytest.raises(sg.FetchError) as info:
        sess.run(["loss"])
    message = str(info.value)
    assert "got str: 'loss'" in message and "\n  fix: " in message
    assert isinstance(info.value, TypeError)  # also catchable as the built-in kind


def _bad_inputs():
    """Every bad input the issue lists, as (name, callable provoking it, expected error)."""

    def wrong_feed_shape():
        x = sg.Placeholder((2,), name="x")
        sg.Session().run(x, {x: np.ones(3)})

    def wrong_feed_dtype():
        x = sg.Placeholder((2,), dtype="int32", name="x")
        sg.Session().run(x, {x: [0.5, 1.5]})

    def missing_feed():
        x = sg.Placeholder((2,), name="x")
        sg.Session().run(x + 1.0)

    def fetch_from_another_graph():
        with sg.Graph().as_default():
            x = sg.Placeholder((2,), name="x")
        sg.Session().run(x)

    def non_node_fetch():
        sg.Session().run({"loss": 0.5})

    def cycle_by_hand():
        a = sg.Placeholder((), name="a")
        b = a + 1.0
        b.inputs = (b, b.inputs[1])
        sg.Session().run(b, {a: 1.0})

    def nan_in_debug_mode():
        x = sg.Placeholder((), name="x")
        with np.errstate(divide="ignore"):
            sg.Session(debug=True).run(sg.log(x), {x: 0.0})

    def corrupt_checkpoint(tmp_path):
        sg.Variable(1.0, name="v")
        (tmp_path / "bad.npz").write_bytes(b"\x93NUMPY garbage")
        sg.Session().restore(tmp_path / "bad.npz")

    def mismatched_checkpoint(tmp_path):
        with sg.Graph().as_default() as g:
            sg.Variable(np.zeros(2), name="v")
            sg.Session(graph=g).save(tmp_path / "ck.npz")
        sg.Variable(np.zeros(3), name="v")
        sg.Session().restore(tmp_path / "ck.npz")

    return [
        ("wrong_feed_shape", wrong_feed_shape, sg.FeedError),
        ("wrong_feed_dtype", wrong_feed_dtype, sg.FeedError),
        ("missing_feed", missing_feed, sg.FeedError),
        ("fetch_from_another_graph", fetch_from_another_graph, sg.GraphError),
        ("non_node_fetch", non_node_fetch, sg.FetchError),
        ("cycle_by_hand", cycle_by_hand, sg.GraphError),
        ("nan_in_debug_mode", nan_in_debug_mode, sg.NumericError),
        ("corrupt_checkpoint", corrupt_checkpoint, sg.CheckpointError),
        ("mismatched_checkpoint", mismatched_checkpoint, sg.CheckpointError),
    ]


@pytest.mark.parametrize(
    "provoke, expected", [case[1:] for case in _bad_inputs()], ids=[case[0] for case in _bad_inputs()]
)
def test_bad_input_gets_symgraphs_own_error_not_a_bare_traceback(provoke, expected, tmp_path):
    with pytest.raises(sg.SymgraphError) as info:
        if provoke.__code__.co_argcount:
            provoke(tmp_path)
        else:
            provoke()
    assert isinstance(info.value, expected)
    assert "fix:" in str(info.value)
    # The message is complete on its own: no NumPy or networkx exception is chained for
    # the reader to decode (a kernel's RunError keeps its cause on purpose, not tested here).
    assert info.value.__cause__ is None


@pytest.mark.parametrize("reduce", [sg.sum, sg.mean, sg.max])
def test_an_axis_of_a_rank_0_tensor_is_refused_when_built(reduce):
    """It used to build, then fail in every run (NumPy's AxisError) and in gradients."""
    s = sg.Placeholder((), dtype="float64", name="s")
    for axis in (0, -1, (0,)):
        with pytest.raises(sg.ShapeError, match="out of range for s \\(\\) of rank 0") as info:
            reduce(s, axis=axis)
        assert "a rank-0 tensor (one number) has no axes: leave axis out (None)" in str(info.value)
    with sg.Session() as sess:
        assert sess.run(reduce(s), {s: 2.5}) == 2.5  # no axis: fine


def test_an_axis_that_is_not_an_int_is_a_shape_error():
    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    with pytest.raises(sg.ShapeError, match="axis 1.0 of x \\(2, 3\\) is not an int or a tuple of ints"):
        sg.sum(x, axis=1.0)
    assert sg.sum(x, axis=[0, 1]).shape == ()  # a list is as good as a tuple


def test_a_checkpoint_keeps_variables_of_any_name(tmp_path):
    """np.savez takes names as keyword arguments: 'file' failed and 'allow_pickle' was
    silently left out of the file (found by a bug hunt)."""
    g = sg.Graph()
    with g.as_default():
        names = ["file", "allow_pickle", "args", "dense/W"]
        variables = [sg.Variable(np.full(2, float(i)), name=n) for i, n in enumerate(names)]
        bump = sg.group(*[sg.assign(v, v + 10.0) for v in variables])
    path = tmp_path / "ck.npz"
    with sg.Session(g) as sess:
        sess.run(bump)
        sess.save(path)
    with np.load(path) as data:  # a plain .npz, as np.savez writes
        assert set(data.files) >= set(names)
    with sg.Session(g) as fresh:
        fresh.restore(path)
        for i, v in enumerate(variables):
            np.testing.assert_array_equal(fresh.run(v), [10.0 + i] * 2)
    with g.as_default():
        sg.Variable(np.zeros(1), name="__symgraph_checkpoint_format__")
    with sg.Session(g) as sess, pytest.raises(sg.CheckpointError, match="may not be named"):
        sess.save(tmp_path / "bad.npz")


def test_newcomers_mistakes_found_by_a_bug_hunt_say_what_to_do():
    with pytest.raises(sg.ShapeError, match="Placeholder x has dtype 'flaot32', which NumPy does not know"):
        sg.Placeholder((2,), dtype="flaot32", name="x")
    a, b = sg.Placeholder((2,), name="a"), sg.Placeholder((2,), name="b")
    for join in (sg.concat, sg.stack):
        with pytest.raises(sg.ShapeError, match=f"{join.__name__} takes a list of tensors, got the Node a"):
            join(a, b)
    with pytest.raises(sg.ShapeError, match=r"SGD learning rate lr has shape \(None,\); it must be a single number"):
        sg.optim.SGD(lr=sg.Placeholder((None,), name="lr"))
    with pytest.raises(TypeError, match=r"call it: params=module.parameters\(\)"):
        sg.optim.SGD(lr=0.1, params=sg.nn.Linear(2, 2).parameters)
    with sg.Session() as sess, pytest.raises(sg.FeedError, match="too large for it"):
        sess.run(a * 1.0, {a: np.array([1e300, 1.0])})  # float32: would be inf


def test_an_op_authors_mistakes_name_the_op_and_what_to_return():
    """Raw Python errors before (found by a bug hunt)."""
    from symgraph.graph import make_node

    class NoShape(sg.Op):
        name = "test_no_shape"
        registered = False

        def infer(self, x):
            return None

    class BareGradient(sg.Op):
        name = "test_bare_gradient"
        registered = False

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x * 2

        def backward(self, node, grad):
            return grad * 2  # not a tuple

    class OneUpdate(sg.optim.Optimizer):
        def update(self, param, grad):
            return sg.assign(param, param - grad)  # not a list

    x = sg.Placeholder((3,), dtype="float64", name="x")
    with pytest.raises(TypeError, match=r"NoShape.infer returned None; it must return \(shape, dtype\)"):
        make_node(NoShape(), (x,))
    y = make_node(BareGradient(), (x,))
    with pytest.raises(sg.GradientError, match="backward of op test_bare_gradient returned one Node") as info:
        sg.gradients(sg.sum(y), [x])
    assert "return (grad_x,)" in str(info.value)
    w = sg.Variable(np.ones(3), name="w")
    with pytest.raises(TypeError, match="OneUpdate.update returned .*; it must return a list of update Nodes"):
        OneUpdate().minimize(sg.sum(w * w))


def test_a_checkpoint_file_gets_the_permissions_the_umask_gives(tmp_path):
    """Written through mkstemp, it was readable by its owner only (found by a bug hunt)."""
    v = sg.Variable(np.ones(2), name="v")
    old = os.umask(0o022)
    try:
        with sg.Session() as sess:
            path = sess.save(tmp_path / "ck.npz")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temporary file left
    with sg.Session() as sess:
        sess.restore(path)
        np.testing.assert_array_equal(sess.run(v), [1.0, 1.0])


def test_a_feed_of_the_wrong_shape_is_told_what_fits():
    """The hint spoke of None dims even for a shape without any."""
    fixed = sg.Placeholder((2, 3), dtype="float64", name="fixed")
    free = sg.Placeholder((None, 3), dtype="float64", name="free")
    w = sg.Variable(np.zeros(3), name="w")
    with sg.Session() as sess:
        for node, value, hint in (
            (fixed, np.zeros((3, 3)), "fix: feed an array of shape (2, 3), or declare the Placeholder with None"),
            (w, np.zeros(4), "fix: feed an array of shape (3,)"),
            (free, np.zeros((3, 4)), "fix: None in the expected shape takes any size"),
        ):
            with pytest.raises(sg.FeedError) as info:
                sess.run(node * 2.0, {node: value})
            assert hint in str(info.value)
            assert ("declare the Placeholder" in str(info.value)) == (node is fixed)


def test_an_infer_giving_a_float_or_negative_dim_is_told_when_the_node_is_built():
    """x.shape[1] / 2 built a Node of shape (4, 3.0), and the run died in np.empty with
    no op named (found by a bug hunt). NumPy ints are taken, as ints."""
    from symgraph.graph import make_node
    from symgraph.ops.base import REGISTRY

    class HalfWidth(sg.Op):
        def infer(self, x, *, how):
            return (np.int64(x.shape[0]), {"divide": x.shape[1] / 2, "floor": x.shape[1] // 2,
                                           "negative": -1}[how]), x.dtype

    try:
        x = sg.Placeholder((4, 6), name="x")
        with pytest.raises(TypeError, match=r"HalfWidth.infer returned the shape \(4, 3.0\).*divide with //"):
            make_node(HalfWidth(), (x,), {"how": "divide"})
        with pytest.raises(TypeError, match="got -1"):
            make_node(HalfWidth(), (x,), {"how": "negative"})
        node = make_node(HalfWidth(), (x,), {"how": "floor"})
        assert node.shape == (4, 3) and type(node.shape[0]) is int
    finally:
        del REGISTRY["half_width"]


def _user_op(forward, name):
    """A user's op of one input, its shape rule the input's, with this kernel."""
    return type(name, (sg.Op,), {
        "name": f"test_{name.lower()}",
        "registered": False,  # a test's op: kept out of the op table tests/ops/ checks
        "infer": lambda self, x: (x.shape, x.dtype),
        "forward": lambda self, x: forward(x),
    })


@pytest.mark.parametrize("debug", [False, True])
def test_a_kernel_that_returns_a_list_is_told_to_return_an_array(debug):
    """It met a cryptic NumPy TypeError from the result check (found by a bug hunt)."""
    from symgraph.graph import make_node

    x = sg.Placeholder((2, 3), dtype="float64", name="x")
    y = make_node(_user_op(lambda x: x.tolist(), "AsList")(), (x,), name="listed") * 2.0
    with sg.Session(debug=debug) as sess, pytest.raises(sg.RunError) as info:
        sess.run(y, {x: np.ones((2, 3))})
    message = str(info.value)
    assert "the kernel of test_aslist returned list; return a NumPy array" in message
    assert "node 'listed'" in message and "AsList.forward" in message


def test_a_user_kernels_error_points_at_its_forward_and_a_builtins_at_the_values():
    """Every kernel error said "check the values fed for this run", even a
    ZeroDivisionError inside a user's own forward (found by a bug hunt)."""
    from symgraph.graph import make_node

    def mean_of_rest(x):
        return x * (1 / (x.size - 2))  # a bug: Python's 1 / 0 for two elements

    x = sg.Placeholder((2,), dtype="float64", name="x")
    y = make_node(_user_op(mean_of_rest, "Broken")(), (x,)) + 1.0  # fused with the add
    with sg.Session() as sess, pytest.raises(sg.RunError, match="ZeroDivisionError") as info:
        sess.run(y, {x: np.ones(2)})
    assert "fix: check Broken.forward, and the values fed for this run" in str(info.value)
    ids = sg.Placeholder((2,), dtype="int64", name="ids")
    rows = sg.embedding_lookup(sg.Constant(np.eye(3)), ids)
    with sg.Session() as sess, pytest.raises(sg.RunError) as info:
        sess.run(rows, {ids: np.array([0, 7])})
    assert "fix: check the values fed for this run; no variable was changed" in str(info.value)


def test_a_kernel_that_writes_into_its_input_is_told_not_to():
    """A Variable's value is read-only, and the kernel's "assignment destination is
    read-only" came with the hint to check the values fed (found by a bug hunt)."""
    from symgraph.graph import make_node

    def clamp(x):
        x[x < 0] = 0  # in place, on the input
        return x

    w = sg.Variable(np.array([-1.0, 2.0]), name="w")
    y = make_node(_user_op(clamp, "Clamp")(), (w,))
    with sg.Session() as sess, pytest.raises(sg.RunError, match="read-only") as info:
        sess.run(y)
    assert "a kernel must not modify its inputs; copy first" in str(info.value)


def test_a_python_error_in_a_users_backward_names_the_node_op_and_line():
    """An IndexError in backward came through sg.gradients raw, naming no Node or op
    (found by a bug hunt); symgraph's own errors from inside backward pass unchanged."""
    from symgraph.graph import make_node

    class Twice(sg.Op):
        name = "test_twice"
        registered = False

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x * 2

        def backward(self, node, grad):
            return (grad * node.inputs[1],)  # a bug: there is one input

    class Mismatched(Twice):
        name = "test_mismatched"

        def backward(self, node, grad):
            return (grad @ sg.Constant(np.ones((5, 5))),)  # a ShapeError of symgraph's own

    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = make_node(Twice(), (x,), name="doubled")
    with pytest.raises(sg.GradientError) as info:
        sg.gradients(sg.sum(y), [x])
    message = str(info.value)
    assert "backward of op test_twice raised IndexError: tuple index out of range at test_errors.py:" in message
    assert "node 'doubled'" in message and "fix: check Twice.backward" in message
    assert isinstance(info.value.__cause__, IndexError)
    with pytest.raises(sg.ShapeError, match="matmul"):
        sg.gradients(sg.sum(make_node(Mismatched(), (x,))), [x])


def test_a_kernel_may_return_a_python_number_of_the_dtype_infer_says():
    """The check that a kernel returns a value refuses a list, not a Python float that is
    the float64 infer promised (it ran before the check was added, and still does)."""
    from symgraph.graph import make_node

    class TotalAsFloat(sg.Op):
        name = "test_total_as_float"
        registered = False

        def infer(self, x):
            return (), np.dtype("float64")

        def forward(self, x):
            return float(x.sum())

    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = make_node(TotalAsFloat(), (x,)) * 2.0
    with sg.Session() as sess:
        assert [sess.run(y, {x: np.ones(3)}) for _ in range(3)] == [6.0] * 3


def test_a_kernel_writing_into_a_fed_array_is_stopped_before_it_changes_it():
    """A user's kernel that adds into its input changed the caller's own fed array
    without a word (found by a bug hunt). The first run gives it read-only views."""
    from symgraph.graph import make_node

    def clamp_in_place(x):
        np.clip(x, 0, 1, out=x)
        return x

    x = sg.Placeholder((3,), dtype="float64", name="x")
    y = make_node(_user_op(clamp_in_place, "ClampFed")(), (x,))
    data = np.array([-1.0, 0.5, 2.0])
    with sg.Session() as sess, pytest.raises(sg.RunError, match="read-only") as info:
        sess.run(y, {x: data})
    assert "a kernel must not modify its inputs" in str(info.value)
    np.testing.assert_array_equal(data, [-1.0, 0.5, 2.0])
    assert data.flags.writeable  # the caller's array itself is left as it was


def test_mse_of_shapes_that_differ_names_the_mse_call_not_the_placeholder():
    """It named node 'pred' (placeholder) and the line that made the Placeholder (found by
    a bug hunt): the mistake is the mse call's."""
    pred, target = sg.Placeholder((3, 4), name="pred"), sg.Placeholder((4,), name="t")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.mse(pred, target)
    assert_message(info.value, "mse", "mse", line, "pred (3, 4)", "t (4,)", "sg.reshape")
    with sg.name_scope("head"), pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.nn.MSELoss()(pred, target)
    assert str(info.value).count(f"{HERE}:{line}") == 1, str(info.value)
    assert "' (mse) created at" in str(info.value) and "(placeholder)" not in str(info.value)


def test_split_and_unstack_errors_name_the_function_called_not_getitem():
    """Both said node 'getitem' (getitem), an op the user never wrote (found by a bug hunt)."""
    b, a = sg.Placeholder((4,), name="b"), sg.Placeholder((None, 3), name="a")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.split(b, 3)
    assert_message(info.value, "split", "split", line, "b (4,)", "3 equal parts", "divides 4")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.split(b, [1, 2])
    assert_message(info.value, "split", "split", line, "[1, 2]", "add up to 4")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.split(a, 3)
    assert_message(info.value, "split", "split", line, "a (None, 3)", "not known")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.unstack(a)
    assert_message(info.value, "unstack", "unstack", line, "a (None, 3)", "fixed size")


def test_feeding_a_node_of_another_graph_says_what_to_feed():
    with sg.Graph().as_default():
        q, line = sg.Placeholder((2,), name="q"), _here()
    x = sg.Placeholder((2,), name="x")
    with sg.Session() as sess, pytest.raises(sg.FeedError) as info:
        sess.run(x * 2.0, {q: np.zeros(2)})
    assert_message(info.value, "q", "placeholder", line, "another Graph", "sg.Session(graph)")


def test_reshape_cast_and_a_ragged_variable_get_symgraph_errors_not_numpys():
    """Three bare Python/NumPy exceptions, naming no Node and no fix (found by a bug hunt):
    int() of None, 'data type not understood', and NumPy's 'inhomogeneous shape'."""
    b = sg.Placeholder((4,), name="b")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.reshape(b, (None, 2))
    assert_message(info.value, "reshape", "reshape", line, "b (4,)", "(None, 2)", "use -1", "(-1, 2)")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.cast(b, "floot")
    assert_message(info.value, "cast", "cast", line, "'floot'", "which NumPy does not know", "'float32'")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        sg.Variable([[1], [2, 3]], name="w")
    assert_message(info.value, "w", "variable", line, "not a rectangular array", "same length")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        b + [[1], [2, 3]]
    assert_message(info.value, "Const", "constant", line, "not a rectangular array")


def test_a_python_int_that_does_not_fit_the_tensors_dtype_is_refused_when_built():
    """int64_node + 2**70 built, and the run died in an OverflowError (NumPy 2 refuses an
    int that does not fit at the operation) (found by a bug hunt)."""
    i = sg.Placeholder((2,), dtype="int64", name="i")
    u = sg.Placeholder((2,), dtype="uint8", name="u")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        i + 2**70
    assert_message(info.value, "add", "add", line, f"the number {2**70} does not fit int64",
                   "i (2,)", "sg.cast(i, 'float64')")
    with pytest.raises(sg.ShapeError) as info:
        line = _here() + 1
        u - (-1)
    assert_message(info.value, "sub", "sub", line, "the number -1 does not fit uint8", "0 to 255",
                   "sg.cast(u, 'int64')")
    with pytest.raises(sg.ShapeError, match="the number 1000 does not fit uint8"):
        sg.where(sg.greater(i, 0), u, 1000)  # np.where would wrap 1000 to 232 without a word
    with sg.Session() as sess:  # what fits is taken, and a comparison takes any int, as NumPy 2
        got = sess.run([u + 255, i < 2**70, i * 2.0**70], {u: np.zeros(2, np.uint8), i: [1, 2]})
    assert got[0].dtype == np.uint8 and got[1].all() and got[2].dtype == np.float64


@pytest.mark.parametrize("debug", [False, True])
def test_a_kernel_writing_into_a_computed_input_is_stopped_too(debug):
    """Doubling its input in place changed tanh(x) for every other reader, fetched
    included, in optimized, plain and debug runs alike (found by a bug hunt)."""
    from symgraph.graph import make_node

    def double_in_place(x):
        x *= 2.0
        return x

    x = sg.Placeholder((1, 3), dtype="float64", name="x")
    h = sg.tanh(x)
    doubled = make_node(_user_op(double_in_place, "DoubleInPlace")(), (h,))
    with sg.Session(debug=debug) as sess, pytest.raises(sg.RunError, match="read-only") as info:
        sess.run([h, doubled], {x: np.full((1, 3), 0.5)})
    assert "a kernel must not modify its inputs" in str(info.value)


def test_debug_mode_names_a_nan_in_a_constant_or_a_placeholders_default():
    """A NaN default passed unseen, or was blamed on the next op, 'NaN appeared in the
    result of mul' (found by a bug hunt); fed or in a Variable it was named already."""
    p = sg.Placeholder((), dtype="float64", default=np.nan, name="p")
    c = sg.Constant(np.array([np.inf]), name="c")
    for fetch, name in [(p, "p"), (p * 2.0, "p"), (c + 1.0, "c")]:
        with pytest.raises(sg.NumericError, match=rf"in {name}, a value known before the run"):
            sg.Session(debug=True).run(fetch)
    assert sg.Session(debug=True).run(p * 2.0, {p: 3.0}) == 6.0  # fed: the default is not used


def test_an_error_in_a_gradient_node_names_the_forward_op_and_its_line_too():
    """Found by a bug hunt: a NaN in sqrt's gradient named only gradients/sqrt_grad/div,
    made at the minimize() line, never the sqrt the user wrote."""
    x = sg.Placeholder((None, 1), dtype="float64", name="x")
    w = sg.Variable(np.ones((1, 1)), name="w")
    root = sg.sqrt(x @ w, name="root")
    line = inspect.currentframe().f_lineno - 1
    train = sg.optim.SGD(lr=0.1).minimize(sg.mean(root))
    with sg.Session(debug=True) as sess, pytest.raises(sg.NumericError) as caught, np.errstate(divide="ignore"):
        sess.run(train, {x: np.zeros((1, 1))})
    assert caught.value.node.grad_of is root
    assert f"part of the gradient of node 'root' (sqrt) created at test_errors.py:{line}" in str(caught.value)
