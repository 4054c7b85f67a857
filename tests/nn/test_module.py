"""Module: parameters(), parameter shapes, name scopes, subclassing and dtype=."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg


def _count(module) -> int:
    return sum(int(np.prod(p.shape)) for p in module.parameters())


def _nodes_built_by(fn):
    """Run fn() and return (its result, the Nodes it added to the default graph)."""
    graph = sg.get_default_graph()
    start = len(graph.nodes)
    result = fn()
    return result, graph.nodes[start:]


class TwoLayer(sg.nn.Module):
    """A custom Module the documented way: sub-modules first, then an own Variable."""

    def __init__(self):
        super().__init__()
        self.fc1 = sg.nn.Linear(2, 3)
        self.fc2 = sg.nn.Linear(3, 1)
        self.scale = sg.Variable(np.ones(1, "float32"), name="scale")
        self.again = self.fc1  # the same layer under a second name: its parameters count once

    def forward(self, x):
        return self.fc2(sg.tanh(self.fc1(x))) * self.scale


# -- parameters() -------------------------------------------------------------------------
def test_parameters_lists_own_variables_first_then_each_submodule_in_definition_order():
    net = TwoLayer()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert net.parameters() == [
        net.scale,
        net.fc1.weight,
        net.fc1.bias,
        net.fc2.weight,
        net.fc2.bias,
    ]


def test_parameters_is_complete_and_counts_a_shared_submodule_once():
    net = TwoLayer()
    params = net.parameters()
    assert len(params) == len(set(params)) == 5
    assert set(params) == set(sg.get_default_graph().variables)
    assert _count(net) == 1 + (2 * 3 + 3) + (3 * 1 + 1)


def test_parameters_counts_a_variable_shared_by_two_submodules_once():
    class Tied(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = sg.nn.Linear(4, 4, bias=False)
            self.dec = sg.nn.Linear(4, 4)
            self.dec.weight = self.enc.weight  # weight tying

    tied = Tied()
    assert tied.parameters() == [tied.enc.weight, tied.dec.bias]
    assert [n for n, _ in tied.named_parameters()] == ["enc.weight", "dec.bias"]


def test_parameters_order_is_the_same_in_every_fresh_graph():
    def names():
        with sg.Graph().as_default():
            net = sg.nn.Sequential(TwoLayer(), sg.nn.Tanh(), sg.nn.Linear(1, 2))
            return [(n, p.name) for n, p in net.named_parameters()]

    assert names() == names()
    assert [n for n, _ in names()] == [
        "0.scale",
        "0.fc1.weight",
        "0.fc1.bias",
        "0.fc2.weight",
        "0.fc2.bias",
        "2.weight",
        "2.bias",
    ]


def test_nested_submodules_are_walked_depth_first():
    inner = sg.nn.Sequential(sg.nn.Linear(1, 2), sg.nn.Linear(2, 3))
    outer = sg.nn.Sequential(inner, sg.nn.Linear(3, 4))
    assert outer.parameters() == inner.parameters() + outer[1].parameters()


def test_parameters_terminates_when_a_submodule_refers_back_to_its_parent():
    class Block(sg.nn.Module):
        def __init__(self, owner):
            super().__init__()
            self.fc = sg.nn.Linear(2, 2)
            self.owner = owner  # a back-reference: the module tree has a cycle

    class Net(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block(self)

    net = Net()
    assert net.parameters() == [net.block.fc.weight, net.block.fc.bias]


# -- parameter counts and shapes ----------------------------------------------------------
def test_linear_has_weight_in_by_out_and_bias_out():
    lin = sg.nn.Linear(4, 3)
    assert [(n, p.shape) for n, p in lin.named_parameters()] == [("weight", (4, 3)), ("bias", (3,))]
    assert _count(lin) == 4 * 3 + 3
    np.testing.assert_array_equal(lin.bias.initial_value, np.zeros(3))


def test_linear_without_bias_has_only_a_weight():
    lin = sg.nn.Linear(4, 3, bias=False)
    assert lin.bias is None
    assert [(n, p.shape) for n, p in lin.named_parameters()] == [("weight", (4, 3))]
    assert _count(lin) == 12
    x = sg.Placeholder((None, 4), name="x")
    with sg.Session() as sess:
        xv = np.arange(8, dtype="float32").reshape(2, 4)
        np.testing.assert_allclose(
            sess.run(lin(x), {x: xv}), xv @ lin.weight.initial_value, rtol=1e-6
        )


def test_embedding_has_one_row_per_id():
    emb = sg.nn.Embedding(10, 4)
    assert [(n, p.shape) for n, p in emb.named_parameters()] == [("weight", (10, 4))]
    assert _count(emb) == 40


def test_rnn_cell_has_input_and_hidden_weights_and_two_biases():
    cell = sg.nn.RNNCell(3, 5)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (3, 5)),
        ("weight_hh", (5, 5)),
        ("bias_ih", (5,)),
        ("bias_hh", (5,)),
    ]
    assert _count(cell) == 3 * 5 + 5 * 5 + 5 + 5


def test_sequential_collects_its_layers_parameters_in_order():
    net = sg.nn.Sequential(sg.nn.Linear(2, 8), sg.nn.Tanh(), sg.nn.Linear(8, 1))
    assert [(n, p.shape) for n, p in net.named_parameters()] == [
        ("0.weight", (2, 8)),
        ("0.bias", (8,)),
        ("2.weight", (8, 1)),
        ("2.bias", (1,)),
    ]
    assert _count(net) == 2 * 8 + 8 + 8 + 1
    assert len(net) == 3 and isinstance(net[1], sg.nn.Tanh)


def test_layers_without_parameters_have_none():
    for layer in (sg.nn.Tanh(), sg.nn.Sigmoid(), sg.nn.ReLU(), sg.nn.Dropout(0.5)):
        assert layer.parameters() == []


# -- name scopes --------------------------------------------------------------------------
def test_each_instance_gets_its_own_scope_and_names_its_variables_inside_it():
    a, b = sg.nn.Linear(2, 2), sg.nn.Linear(2, 2)
    assert (a.scope, b.scope) == ("linear", "linear_1")
    assert (a.weight.name, a.bias.name) == ("linear/weight", "linear/bias")
    assert (b.weight.name, b.bias.name) == ("linear_1/weight", "linear_1/bias")
    cell = sg.nn.RNNCell(2, 2)
    assert cell.weight_ih.name == "rnn_cell/weight_ih"


def test_calling_a_layer_twice_puts_the_ops_of_both_calls_in_its_scope():
    lin = sg.nn.Linear(2, 3)
    x = sg.Placeholder((None, 2), name="x")
    y1, first = _nodes_built_by(lambda: lin(x))
    y2, second = _nodes_built_by(lambda: lin(x))
    assert first and second and y1 is not y2
    assert all(n.name.startswith("linear/") for n in first + second), [
        n.name for n in first + second
    ]
    assert sg.get_default_graph().variables == [lin.weight, lin.bias]  # no new Variables


def test_a_layer_made_in_a_scope_and_called_outside_it_uses_its_own_scope_not_another_layers():
    with sg.name_scope("enc"):
        inner = sg.nn.Linear(2, 2)
    outer = sg.nn.Linear(2, 2)
    x = sg.Placeholder((None, 2), name="x")
    _, built_inner = _nodes_built_by(lambda: inner(x))
    _, built_outer = _nodes_built_by(lambda: outer(x))
    assert (inner.scope, outer.scope) == ("enc/linear", "linear")
    assert all(n.name.startswith("enc/linear/") for n in built_inner)
    assert all(n.name.startswith("linear/") for n in built_outer)


def test_a_layer_called_inside_another_scope_nests_its_ops_there():
    lin = sg.nn.Linear(2, 2)
    x = sg.Placeholder((None, 2), name="x")
    with sg.name_scope("tower"):
        _, built = _nodes_built_by(lambda: lin(x))
    assert built and all(n.name.startswith("tower/linear/") for n in built)
    assert sg.get_default_graph().variables == [lin.weight, lin.bias]


def test_a_layer_without_its_own_init_still_opens_a_scope():
    act = sg.nn.Tanh()
    x = sg.Placeholder((2,), name="x")
    y, built = _nodes_built_by(lambda: act(x))
    assert act.scope == "tanh"
    assert [n.name for n in built] == ["tanh/tanh"]


def test_a_custom_module_nests_the_scopes_of_its_submodules():
    class MyNet(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = sg.nn.Linear(2, 4)
            self.out = sg.nn.Linear(4, 1)

        def forward(self, x):
            return self.out(sg.relu(self.hidden(x)))

    net = MyNet()
    assert net.scope == "my_net"
    assert [p.name for p in net.parameters()] == [
        "my_net/linear/weight",
        "my_net/linear/bias",
        "my_net/linear_1/weight",
        "my_net/linear_1/bias",
    ]
    x = sg.Placeholder((None, 2), name="x")
    y, built = _nodes_built_by(lambda: net(x))
    assert all(n.name.startswith("my_net/") for n in built)
    assert any(n.name.startswith("my_net/linear/") for n in built)
    assert any(n.name.startswith("my_net/linear_1/") for n in built)
    assert y.shape == (None, 1)


def test_a_subclass_of_a_layer_opens_one_scope_not_two():
    class Wide(sg.nn.Linear):
        def __init__(self):
            super().__init__(2, 16)

    layer = Wide()
    assert layer.scope == "wide"
    assert layer.weight.name == "wide/weight"


def test_scope_name_class_attribute_overrides_the_derived_name():
    class Block(sg.nn.Module):
        scope_name = "blk"

        def __init__(self):
            super().__init__()
            self.fc = sg.nn.Linear(1, 1)

    assert Block().fc.weight.name == "blk/linear/weight"


def test_a_subclass_that_forgets_super_init_gets_a_clear_error():
    class Broken(sg.nn.Module):
        def __init__(self):
            self.fc = sg.nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"Broken.__init__ must call super\(\).__init__\(\)"):
        Broken()


def test_a_module_without_forward_says_so_when_called():
    class NoForward(sg.nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward must define forward"):
        NoForward()(sg.Placeholder((1,), name="x"))


def test_sequential_rejects_something_that_is_not_a_module():
    with pytest.raises(TypeError, match="Sequential takes Modules, got function at position 1"):
        sg.nn.Sequential(sg.nn.Linear(1, 1), sg.tanh)


# -- dtype= -------------------------------------------------------------------------------
def test_layers_are_float32_by_default():
    for module in (sg.nn.Linear(2, 2), sg.nn.Embedding(3, 2), sg.nn.RNNCell(2, 2)):
        assert {p.dtype for p in module.parameters()} == {np.dtype("float32")}


def test_float64_layers_run_end_to_end_in_float64():
    emb = sg.nn.Embedding(5, 3, dtype="float64")
    cell = sg.nn.RNNCell(3, 4, dtype="float64")
    head = sg.nn.Sequential(
        sg.nn.Linear(4, 4, dtype="float64"),
        sg.nn.Sigmoid(),
        sg.nn.Linear(4, 2, bias=False, dtype="float64"),
    )
    ids = [sg.Placeholder((None,), dtype="int64", name=f"ids{t}") for t in range(3)]
    outputs, h = sg.nn.unroll(cell, [emb(i) for i in ids])
    logits = head(h)
    labels = sg.Placeholder((None,), dtype="int64", name="labels")
    loss = sg.nn.CrossEntropyLoss()(logits, labels)
    params = emb.parameters() + cell.parameters() + head.parameters()
    grads = sg.gradients(loss, params)
    assert {p.dtype for p in params} == {np.dtype("float64")}
    assert {n.dtype for n in [*outputs, logits, loss, *grads]} == {np.dtype("float64")}
    feed = {i: np.array([0, 4]) for i in ids}
    feed[labels] = np.array([1, 0])
    with sg.Session() as sess:
        values = sess.run([logits, loss, *grads], feed)
    assert all(np.asarray(v).dtype == np.float64 for v in values)
    assert values[0].shape == (2, 2) and np.isfinite(values[1])


def test_layers_in_a_list_or_a_dict_are_parameters_too():
    """As in PyTorch's ModuleList and ModuleDict: a net keeping its blocks in a list
    trained only its last layer with SGD(params=net.parameters()) (found by a bug hunt)."""

    class Net(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [sg.nn.Linear(3, 3), sg.nn.Linear(3, 3)]
            self.heads = {"a": sg.nn.Linear(3, 2)}
            self.scales = (sg.Variable(np.ones(3, "float32"), name="s0"),)
            self.out = sg.nn.Linear(2, 1)

        def forward(self, x):
            for block in self.blocks:
                x = block(x) * self.scales[0]
            return self.out(self.heads["a"](x))

    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "scales.0", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "heads.a.weight", "heads.a.bias", "out.weight", "out.bias",
    ]
    assert len(net.parameters()) == len(sg.get_default_graph().variables)
    # set again: what the attribute held is let go
    net.heads = {}
    net.scales = None
    assert [n for n, _ in net.named_parameters()][:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert not any(n.startswith(("heads.", "scales.")) for n, _ in net.named_parameters())


def test_a_non_trainable_variable_is_a_buffer_not_a_parameter():
    """A BatchNorm-style running mean, Variable(trainable=False), was in parameters(), so
    SGD(params=bn.parameters(), weight_decay=...) moved it (found by a bug hunt). As in
    PyTorch, parameters() are what an optimizer trains; buffers() hold the rest."""

    class RunningMean(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = sg.Variable(np.ones(2), name="scale")
            self.running_mean = sg.Variable(np.full(2, 5.0), name="running_mean", trainable=False)

        def forward(self, x):
            return (x - self.running_mean) * self.scale

    layer = RunningMean()
    assert layer.parameters() == [layer.scale]
    assert layer.named_buffers() == [("running_mean", layer.running_mean)]
    assert layer.buffers() == [layer.running_mean]
    x = sg.Placeholder((None, 2), dtype="float64", name="x")
    train = sg.optim.SGD(lr=0.1, params=layer.parameters(), weight_decay=0.5).minimize(
        sg.sum(layer(x) ** 2)
    )
    with sg.Session() as sess:
        sess.run(train, {x: np.ones((3, 2))})
        np.testing.assert_array_equal(sess.run(layer.running_mean), [5.0, 5.0])


def test_layer_sizes_and_dtypes_are_checked_when_the_layer_is_made():
    """Linear(2.5, 3) became a 2 -> 3 layer, dtype='int64' gave all-zero weights, a size
    0 divided by zero in glorot_uniform, and Dropout of ints gave floats (found by a bug
    hunt); PyTorch refuses all of them too."""
    with pytest.raises(TypeError, match="Linear: in_features must be a whole number, got 2.5"):
        sg.nn.Linear(2.5, 3)
    with pytest.raises(TypeError, match="Linear: weights must be floats, got dtype=int64"):
        sg.nn.Linear(2, 3, dtype="int64")
    with pytest.raises(ValueError, match="RNNCell: hidden_size must be at least 1, got 0"):
        sg.nn.RNNCell(3, 0)
    with pytest.raises(ValueError, match="Embedding: embedding_dim must be at least 1"):
        sg.nn.Embedding(10, 0)
    with pytest.raises(sg.ShapeError, match="needs float values"):
        sg.nn.Dropout(0.5)(sg.Placeholder((2,), dtype="int64", name="ids"))
    assert sg.nn.Linear(np.int64(3), 2).weight.shape == (3, 2)  # NumPy ints are whole numbers


def test_train_and_eval_say_how_symgraph_switches_modes():
    """A PyTorch user's model.eval() got a plain AttributeError (found by a bug hunt)."""
    model = sg.nn.Sequential(sg.nn.Linear(2, 2), sg.nn.Dropout(0.5))
    for call, name in [(model.eval, "eval"), (model.train, "train")]:
        with pytest.raises(TypeError, match=rf"Sequential.{name}\(\).*training_flag\(\): True"):
            call()


def test_linear_takes_dtype_none_as_float32_and_refuses_integer_input():
    """dtype=None made float64 weights (NumPy's None), and int64 input gave a float64
    result from a float32 layer (found by a bug hunt); PyTorch refuses int input too."""
    layer = sg.nn.Linear(2, 3, dtype=None)
    assert layer.weight.dtype == np.float32
    with pytest.raises(sg.ShapeError, match=r"Linear of ids \(int64\)") as caught:
        layer(sg.Placeholder((None, 2), dtype="int64", name="ids"))
    assert "sg.nn.Embedding" in str(caught.value)
    dropped = sg.nn.Dropout(0.5)(np.ones((2, 3), "float32"))  # an array is taken as a Constant
    assert dropped.shape == (2, 3)


def test_a_layer_with_a_dtype_numpy_does_not_know_is_told_so():
    with pytest.raises(sg.ShapeError, match="Linear's weights have dtype 'floot', which NumPy does not know"):
        sg.nn.Linear(2, 3, dtype="floot")
