"""Graph building: Nodes, names, scopes, the default graph, leaves and operators."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import symgraph as sg


def _here() -> int:
    """The line number of the caller, to compare with a Node's recorded line."""
    return sys._getframe(1).f_lineno


# -- the Graph ---------------------------------------------------------------------------
def test_graph_keeps_nodes_in_creation_order():
    g = sg.Graph()
    with g.as_default():
        x = sg.Placeholder((2,), name="x")
        c = sg.Constant(1.0, name="c")
        y = x + c
        z = sg.tanh(y)
    assert g.nodes == [x, c, y, z]
    assert [n.id for n in g.nodes] == [0, 1, 2, 3]
    assert len(g) == 4 and z in g


def test_graph_nodes_is_a_copy_the_user_cannot_corrupt():
    g = sg.Graph()
    with g.as_default():
        sg.Placeholder((), name="x")
    g.nodes.clear()
    assert len(g.nodes) == 1


def test_repeated_names_get_numbered_suffixes():
    x = sg.Placeholder((2,), name="x")
    names = [(x + x).name, (x + x).name, (x + x).name]
    assert names == ["add", "add_1", "add_2"]


def test_explicit_name_that_collides_with_a_suffix_is_still_unique():
    x = sg.Placeholder((2,), name="x")
    a, b, c = sg.add(x, x, name="s"), sg.add(x, x, name="s"), sg.add(x, x, name="s_1")
    assert len({a.name, b.name, c.name}) == 3
    assert (a.name, b.name) == ("s", "s_1")


def test_get_node_finds_by_name_and_explains_a_miss():
    x = sg.Placeholder((2,), name="x")
    g = sg.get_default_graph()
    assert g.get_node("x") is x
    with pytest.raises(sg.GraphError, match="no node named 'nope'"):
        g.get_node("nope")


def test_nested_name_scopes_join_with_slash():
    x = sg.Placeholder((2,), name="x")
    with sg.name_scope("a"), sg.name_scope("b"):
        y = sg.add(x, x, name="op")
    assert y.name == "a/b/op"
    assert x.name == "x"


def test_reused_scope_name_gets_a_suffix():
    x = sg.Placeholder((2,), name="x")
    with sg.name_scope("dense") as first:
        a = x * 2.0
    with sg.name_scope("dense") as second:
        b = x * 2.0
    assert (first, second) == ("dense/", "dense_1/")
    assert a.name == "dense/mul" and b.name == "dense_1/mul"


def test_scope_with_trailing_slash_reenters_the_same_scope():
    x = sg.Placeholder((2,), name="x")
    with sg.name_scope("dense"):
        a = x * 2.0
    with sg.name_scope("dense/") as scope:
        b = x * 2.0
    assert scope == "dense/"
    assert a.name == "dense/mul" and b.name == "dense/mul_1"


def test_the_scope_given_by_as_re_enters_that_scope_as_in_tf1():
    """TF1's idiom: `with name_scope("enc") as scope:`, later `with name_scope(scope):`.
    The path was given without its '/', so the second opened 'enc_1' (found by a bug hunt)."""
    with sg.name_scope("enc") as scope:
        a = sg.Constant(1.0, name="a")
    with sg.name_scope(scope):
        b = sg.Constant(1.0, name="b")
    assert (a.name, b.name) == ("enc/a", "enc/b")


def test_scope_is_restored_after_an_exception_inside_it():
    x = sg.Placeholder((2,), name="x")
    with pytest.raises(RuntimeError), sg.name_scope("broken"):
        raise RuntimeError("boom")
    assert (x + x).name == "add"


def test_empty_scope_name_is_rejected():
    with pytest.raises(sg.GraphError, match="non-empty name"), sg.name_scope(""):
        pass


def test_as_default_routes_new_nodes_and_nests():
    outer, inner = sg.Graph(), sg.Graph()
    root = sg.get_default_graph()
    with outer.as_default() as entered:
        assert entered is outer and sg.get_default_graph() is outer
        with inner.as_default():
            assert sg.get_default_graph() is inner
            x = sg.Placeholder((), name="x")
        assert sg.get_default_graph() is outer
    assert sg.get_default_graph() is root
    assert x.graph is inner and x in inner and x not in outer and len(root) == 0


def test_reset_default_graph_starts_a_fresh_graph():
    old = sg.get_default_graph()
    x = sg.Placeholder((), name="x")
    new = sg.reset_default_graph()
    assert new is not old and sg.get_default_graph() is new
    assert len(new) == 0 and x.graph is old  # old Nodes stay valid in their graph
    assert sg.Placeholder((), name="x").name == "x"  # names start over


def test_reset_default_graph_inside_as_default_is_an_error():
    with sg.Graph().as_default(), pytest.raises(sg.GraphError, match="leave the block"):
        sg.reset_default_graph()


def test_mixing_nodes_of_two_graphs_is_a_graph_error():
    a = sg.Placeholder((), name="a")
    with sg.Graph().as_default():
        b = sg.Placeholder((), name="b")
    with pytest.raises(sg.GraphError, match="two Graphs"):
        a + b


# -- Node fields ------------------------------------------------------------------------------
def test_node_records_op_inputs_attrs_shape_dtype_and_name():
    x = sg.Placeholder((None, 3), name="x")
    s = sg.sum(x, axis=1, keepdims=True, name="total")
    assert s.op.name == "sum"
    assert s.inputs == (x,)
    assert s.attrs == {"axis": (1,), "keepdims": True}
    assert s.shape == (None, 1) and s.ndim == 2
    assert s.dtype == np.float32
    assert s.name == "total"


def test_nodes_of_one_op_share_one_op_object():
    """Ops are stateless, so an unrolled graph of thousands of adds holds one Add
    (less memory, and a compile walking every vertex finds it in the CPU's cache)."""
    x = sg.Placeholder((2,), name="x")
    assert (x + 1.0).op is (x + 2.0).op
    assert sg.Placeholder((2,), name="y").op is x.op
    assert (x + 1.0).op is not (x * 2.0).op


def test_an_op_object_with_attributes_of_its_own_keeps_them():
    from symgraph.graph import make_node
    from symgraph.ops.math import Neg

    x = sg.Placeholder((2,), name="x")
    op = Neg()
    op.note = "mine"
    assert make_node(op, [x]).op is op
    assert make_node(Neg(), [x]).op is not op


class _Shift(sg.Op):
    """x + an attr; the test gives the attr each name a Program passes to kernels itself."""

    name = "test_shift"
    registered = False  # a test's op: kept out of the op table tests/ops/ checks
    fresh_output = True

    def infer(self, x, **attrs):
        return x.shape, x.dtype

    def forward(self, x, **attrs):
        return x + sum(attrs.values())


@pytest.mark.parametrize("reserved", ["out", "scratch", "state"])
def test_an_attr_named_as_a_kernels_planned_argument_is_refused(reserved):
    """An attr named `state` was silently replaced by the Program's own state= (None), one
    named `out` by the planned buffer (found by a bug hunt)."""
    from symgraph.graph import make_node

    x = sg.Placeholder((3,), name="x")
    with pytest.raises(TypeError, match=f"attr '{reserved}' of op test_shift has a name symgraph keeps") as info:
        make_node(_Shift(), (x,), {reserved: 2.0})
    assert f"e.g. '{reserved}_value'" in str(info.value)
    y = make_node(_Shift(), (x,), {f"{reserved}_value": 2.0})
    with sg.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: np.zeros(3, "float32")}), 2.0)


def test_node_records_the_users_file_and_line():
    x, line = sg.Placeholder((2,), name="x"), _here()
    y, y_line = x * 3.0, _here()
    assert x.file == __file__ and x.line == line
    assert y.file == __file__ and y.line == y_line  # not operators.py, where `*` lives
    assert y.location == f"{os.path.basename(__file__)}:{y_line}"


def test_origin_is_forward_gradient_or_update():
    x = sg.Placeholder((), name="x")
    v = sg.Variable(1.0, name="v")
    y = x * v
    (g,) = sg.gradients(y, [v])
    u = sg.assign(v, v - g)
    assert (x.origin, v.origin, y.origin) == ("forward", "forward", "forward")
    assert g.origin == "gradient" and g.grad_of is not None
    assert u.origin == "update"
    assert y.grad_of is None


# -- leaves -----------------------------------------------------------------------------------
def test_placeholder_defaults_to_float32_and_keeps_none_dims():
    x = sg.Placeholder((None, 784), name="x")
    y = sg.Placeholder(5, dtype="int64")
    assert x.shape == (None, 784) and x.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    assert x.inputs == () and x.is_leaf


@pytest.mark.parametrize("shape", [(2, -1), (2.5,), "ab", None])
def test_placeholder_with_a_bad_shape_is_a_shape_error(shape):
    with pytest.raises(sg.ShapeError, match="Placeholder shape"):
        sg.Placeholder(shape)


def test_variable_keeps_its_dtype_and_trainable_flag():
    v = sg.Variable(np.arange(3, dtype=np.int32), name="steps", trainable=False)
    w = sg.Variable(np.zeros((2, 2), dtype=np.float64))
    assert v.dtype == np.int32 and not v.trainable
    assert w.dtype == np.float64 and w.trainable and w.shape == (2, 2)
    assert sg.get_default_graph().variables == [v, w]
    assert sg.get_default_graph().trainable_variables() == [w]


def test_variable_keeps_a_private_read_only_copy_of_its_initial_value():
    init = np.zeros(3, dtype=np.float32)
    v = sg.Variable(init)
    init[0] = 5.0
    assert v.initial_value[0] == 0.0
    with pytest.raises(ValueError):
        v.initial_value[0] = 1.0


@pytest.mark.parametrize("value", ["abc", [1, "a"], {"a": 1}])
def test_variable_of_a_non_numeric_value_is_rejected(value):
    with pytest.raises(sg.ShapeError, match="not numeric"):
        sg.Variable(value)


def test_variable_of_a_node_is_rejected():
    with pytest.raises(sg.GraphError, match="needs a value"):
        sg.Variable(sg.Constant(1.0))


def test_constant_of_a_python_number_is_weak():
    x = sg.Placeholder((3,), name="x")
    assert sg.Constant(2.0).weak and sg.Constant(2).weak
    assert (x * 2.0).dtype == np.float32  # float32 * Python float stays float32
    assert (x + 1).dtype == np.float32
    assert (2.0 - x).dtype == np.float32


def test_numpy_scalar_constant_is_not_weak():
    x = sg.Placeholder((3,), name="x")
    assert not sg.Constant(np.float64(2.0)).weak
    assert (x * np.float64(2.0)).dtype == np.float64  # NumPy 2: a float64 scalar is strong
    assert (x * np.float32(2.0)).dtype == np.float32


def test_weak_constant_result_matches_the_kernel_dtype():
    x = sg.Placeholder((3,), name="x")
    y = x * 2.0
    with sg.Session() as sess:
        out = sess.run(y, {x: np.ones(3, dtype=np.float32)})
    assert out.dtype == y.dtype == np.float32


@pytest.mark.parametrize("value", ["abc", [1, "a"]])
def test_constant_of_a_non_numeric_value_is_rejected(value):
    with pytest.raises(sg.ShapeError, match="not numeric"):
        sg.Constant(value)


# -- operators --------------------------------------------------------------------------------
def test_binary_operators_build_the_matching_ops():
    x = sg.Placeholder((2, 2), name="x")
    y = sg.Placeholder((2, 2), name="y")
    ops = {"+": x + y, "-": x - y, "*": x * y, "/": x / y, "**": x**y, "@": x @ y}
    assert {k: n.op.name for k, n in ops.items()} == {
        "+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "@": "matmul",
    }
    assert all(n.inputs == (x, y) for n in ops.values())
    assert (-x).op.name == "neg"


def test_reflected_operators_put_the_python_number_first():
    x = sg.Placeholder((3,), name="x")
    nodes = [2.0 + x, 2.0 - x, 2.0 * x, 2.0 / x, 2.0**x]
    assert [n.op.name for n in nodes] == ["add", "sub", "mul", "div", "pow"]
    for n in nodes:
        assert n.inputs[1] is x and n.inputs[0].op.name == "constant"
    with sg.Session() as sess:
        values = sess.run(nodes, {x: np.array([1.0, 2.0, 4.0])})
    a = np.array([1.0, 2.0, 4.0])
    expected = [2.0 + a, 2.0 - a, 2.0 * a, 2.0 / a, 2.0**a]
    for got, want in zip(values, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_numpy_array_on_the_left_gives_a_node():
    x = sg.Placeholder((3,), name="x")
    m = sg.Placeholder((3, 2), name="m")
    s, p, mm = np.ones(3) + x, np.ones(3) * x, np.ones((2, 3), dtype=np.float32) @ m
    assert all(isinstance(n, sg.Node) for n in (s, p, mm))
    assert s.op.name == "add" and mm.op.name == "matmul" and mm.shape == (2, 2)
    assert s.dtype == np.float64  # a float64 array is not weak


def test_transpose_property_and_indexing():
    x = sg.Placeholder((None, 3), name="x")
    assert x.T.op.name == "transpose" and x.T.shape == (3, None)
    assert x[0].shape == (3,)
    assert x[:, 1:].shape == (None, 2)
    assert x[..., 0].shape == (None,)
    assert x[None].shape == (1, None, 3)
    value = np.arange(12, dtype=np.float32).reshape(4, 3)
    with sg.Session() as sess:
        got = sess.run([x.T, x[1], x[1:3, ::2]], {x: value})
    np.testing.assert_array_equal(got[0], value.T)
    np.testing.assert_array_equal(got[1], value[1])
    np.testing.assert_array_equal(got[2], value[1:3, ::2])


def test_advanced_indexing_is_refused_with_a_pointer_to_embedding_lookup():
    x = sg.Placeholder((3, 2), name="x")
    with pytest.raises(sg.ShapeError, match="embedding_lookup"):
        x[np.array([0, 1])]


def test_bool_of_a_node_raises_a_helpful_type_error():
    x = sg.Placeholder((), name="x")
    with pytest.raises(TypeError, match="truth value of Node 'x'.*sg.where"):
        bool(x)
    with pytest.raises(TypeError, match="truth value"):
        if x > 0:
            pass


def test_iterating_a_node_raises_a_helpful_type_error():
    x = sg.Placeholder((3,), name="x")
    with pytest.raises(TypeError, match="cannot be iterated.*sg.unstack"):
        list(x)
    with pytest.raises(TypeError, match="cannot be iterated"):
        a, b, c = x


def test_nodes_hash_by_identity_so_they_work_as_dict_keys():
    x = sg.Placeholder((), name="x")
    y = sg.Placeholder((), name="y")
    d = {x: 1, y: 2}
    assert d[x] == 1 and d[y] == 2


# -- reading a graph --------------------------------------------------------------------------
def test_repr_shows_name_op_shape_and_dtype():
    x = sg.Placeholder((None, 784), name="x")
    assert repr(x) == "<Node 'x' op=placeholder shape=(None, 784) dtype=float32>"
    assert repr(sg.sum(x)) == "<Node 'sum' op=sum shape=() dtype=float32>"


def test_summary_counts_nodes_by_scope_op_and_origin():
    x = sg.Placeholder((None, 2), name="x")
    with sg.name_scope("dense1"):
        W = sg.Variable(np.ones((2, 3), dtype=np.float32), name="W")
        h = sg.tanh(x @ W)
    loss = sg.sum(h)
    sg.gradients(loss, [W])
    text = sg.get_default_graph().summary()
    lines = text.splitlines()
    assert lines[0].split() == ["scope", "op", "origin", "count"]
    rows = {tuple(line.split()) for line in lines[2:-1]}
    assert ("dense1", "variable", "forward", "1") in rows
    assert ("dense1", "matmul", "forward", "1") in rows
    assert ("(top)", "placeholder", "forward", "1") in rows
    assert any(r[0].startswith("gradients/") and r[2] == "gradient" for r in rows)
    total = sum(int(r[3]) for r in rows)
    assert lines[-1] == f"{total} nodes, 1 variables"
    assert total == len(sg.get_default_graph())


def test_a_graph_iterates_over_its_nodes_in_creation_order():
    g = sg.Graph()
    with g.as_default():
        x = sg.Placeholder((2,), name="x")
        y = sg.tanh(x, name="y")
    assert list(g) == [x, y] == g.nodes
    seen = []
    with g.as_default():
        for node in g:  # building while iterating is safe: a copy is iterated
            sg.neg(node)
            seen.append(node)
    assert seen == [x, y] and len(g) == 4


def test_an_update_node_cannot_be_an_ops_input():
    """assign and group compute a Variable's next value and answer None when fetched:
    summed, the sum's declared () bool hid a float (2,) at run time, and fetching it
    committed the assign (found by a bug hunt). Only group takes them."""
    w = sg.Variable(np.array([1.0, 2.0]), name="w")
    update = sg.assign(w, w * 10)
    with pytest.raises(sg.GraphError, match="update Node") as caught:
        sg.sum(update)
    assert "'sum' (sum)" in str(caught.value) and "test_graph.py" in str(caught.value)
    train = sg.optim.SGD(lr=0.1).minimize(sg.sum(w * w))
    with pytest.raises(sg.GraphError, match="'SGD/step' as an input"):
        sg.cast(train, "float64")
    both = sg.group(update, train)  # group still takes them
    assert both.op.is_update


def test_a_placeholders_default_follows_the_rule_a_fed_value_follows():
    """A default of 1.7 for an int64 Placeholder became 1 without a word, where feeding
    1.7 is refused, and a default of strings raised NumPy's bare ValueError (found by a
    bug hunt)."""
    with pytest.raises(sg.ShapeError, match=r"default 1.7 \(float64\) does not fit its dtype int64"):
        sg.Placeholder((), dtype="int64", default=1.7, name="count")
    with pytest.raises(sg.ShapeError, match="does not fit its dtype float32") as caught:
        sg.Placeholder((1,), default=["x"], name="words")
    assert "'words' (placeholder)" in str(caught.value)
    assert sg.Placeholder((), default=1).default.dtype == np.float32  # an int is a float32's


def test_a_string_dtype_is_refused_when_built():
    """Placeholder(dtype='str') was taken, to fail at its first op (found by a bug hunt)."""
    with pytest.raises(sg.ShapeError, match="numbers and bools only"):
        sg.Placeholder((2,), dtype="str", name="s")
    with pytest.raises(sg.ShapeError, match="numbers and bools only"):
        sg.cast(sg.Placeholder((2,), name="x"), "U3")


def test_one_hot_takes_a_whole_number_of_classes():
    """sg.one_hot(ids, sg.Constant(3)) was a bare TypeError from int() (found by a bug hunt)."""
    ids = sg.Placeholder((2,), dtype="int64", name="ids")
    for depth in (sg.Constant(3), 2.5, 0):
        with pytest.raises(sg.ShapeError, match="depth must be a whole number of classes"):
            sg.one_hot(ids, depth)
    assert sg.one_hot(ids, np.int64(3)).shape == (2, 3)
