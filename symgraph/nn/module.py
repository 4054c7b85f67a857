"""Module: PyTorch-style layers on top of the graph.

A Module owns Variables (its parameters) and other Modules. Calling it calls
`forward`, which builds Nodes: calling a layer does not compute anything,
it adds that layer's part of the graph, exactly like calling an op function.

Every Module instance gets its own name scope when it is created (`linear`,
`linear_1`, ...). Its Variables are made inside that scope, and every call
re-enters it, so a picture of the graph groups each layer's Nodes together.

To make a layer, subclass Module, create Variables (or sub-Modules) as
attributes in `__init__`, and write `forward`:

    class Affine(sg.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.scale = sg.Variable(np.ones(n, "float32"), name="scale")
            self.shift = sg.Variable(np.zeros(n, "float32"), name="shift")

        def forward(self, x):
            return x * self.scale + self.shift

A list, tuple or dict of Modules or Variables set as an attribute counts too
(`self.blocks = [Block(), Block()]`: 'blocks.0.weight', ...), as PyTorch's
ModuleList and ModuleDict do; set the attribute again after changing it.
"""

from __future__ import annotations

import functools
import re

from symgraph.graph import Variable, get_default_graph


def _scope_base(cls) -> str:
    """Linear -> 'linear', RNNCell -> 'rnn_cell', MyNet -> 'my_net' (or the class's `scope_name`)."""
    if cls.__dict__.get("scope_name"):
        return cls.scope_name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__).lower()


def _members(name, value) -> list:
    """The Variables and Modules an attribute holds, each with its key: the value
    itself, or each item of a list, tuple or dict of them ('blocks.0', 'heads.a'),
    as PyTorch's ModuleList and ModuleDict hold them. (A list changed after it is
    set is not seen: set the attribute again.)"""
    if isinstance(value, (Variable, Module)):
        return [(name, value)]
    if isinstance(value, (list, tuple)):
        items = [(f"{name}.{i}", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"{name}.{k}", v) for k, v in value.items()]
    else:
        return []
    return [(key, v) for key, v in items if isinstance(v, (Variable, Module))]


class Module:
    """Base class of layers: parameters(), named scope, __call__ -> forward."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Run each subclass's __init__ inside the instance's own name scope, so
        # the Variables and sub-Modules it creates are named 'linear/weight' etc.
        # A subclass of a subclass is wrapped twice; only the outermost call
        # (the one that finds no scope yet) opens it.
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def scoped_init(self, *args, **kw):
            if "_scope" in self.__dict__:
                return init(self, *args, **kw)
            graph = get_default_graph()
            parent = graph._scope
            with graph.name_scope(_scope_base(type(self))) as path:
                object.__setattr__(self, "_scope", path.rstrip("/"))  # 'linear', not 'linear/'
                object.__setattr__(self, "_parent_scope", parent)
                object.__setattr__(self, "_graph", graph)
                return init(self, *args, **kw)

        cls.__init__ = scoped_init

    def __init__(self):
        if "_scope" not in self.__dict__:  # a Module class that defines no __init__ of its own
            graph = get_default_graph()
            object.__setattr__(self, "_graph", graph)
            object.__setattr__(self, "_parent_scope", graph._scope)
            object.__setattr__(self, "_scope", graph._full_name(_scope_base(type(self))))
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name, value):
        # Remember Variables and Modules in the order they are set: that is
        # the order parameters() returns them in, run after run.
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before setting "
                f"attributes such as {name!r}"
            )
        # an attribute set again (to None, or to something else) lets go of what it held
        for registry in (self._parameters, self._modules):
            for key in [k for k in registry if k == name or k.startswith(name + ".")]:
                del registry[key]
        for key, item in _members(name, value):
            if isinstance(item, Variable):
                self._parameters[key] = item
            else:
                self._modules[key] = item
        object.__setattr__(self, name, value)

    # -- running ------------------------------------------------------------------
    #: False for containers (Sequential) whose own scope would only add a level
    opens_scope = True

    def __call__(self, *args, **kwargs):
        if not self.opens_scope:
            return self.forward(*args, **kwargs)
        graph = self._graph
        here, parent = graph._scope, self._parent_scope
        if here == parent or not here or parent.startswith(here + "/"):
            # called where it was made, or above it (a layer made in `with name_scope("enc")`
            # and called outside): re-enter the scope of its Variables, never another layer's
            path = self._scope
        else:
            # called somewhere else, e.g. inside `rnn/step_3`: nest its scope there,
            # so each step of an unrolled RNN holds its own copy of the cell's ops
            path = graph._scoped(self._scope.rpartition("/")[2])
        with graph.name_scope(path + "/"):
            return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # -- parameters -----------------------------------------------------------------
    def _named_variables(self) -> list[tuple[str, Variable]]:
        """('fc1.weight', Variable) pairs of every Variable: own first, then each sub-module's."""
        out, seen, visited = [], set(), set()
        stack = [("", self)]
        while stack:  # iterative walk of the module tree, in definition order
            prefix, module = stack.pop()
            if module in visited:  # a shared sub-module, or a back-reference to a parent: no loop
                continue
            visited.add(module)
            for name, var in module._parameters.items():
                if var not in seen:
                    seen.add(var)
                    out.append((prefix + name, var))
            children = list(module._modules.items())
            stack.extend((prefix + name + ".", m) for name, m in reversed(children))
        return out

    def named_parameters(self) -> list[tuple[str, Variable]]:
        """('fc1.weight', Variable) pairs of the trainable Variables: own parameters first,
        then each sub-module's."""
        return [(name, var) for name, var in self._named_variables() if var.trainable]

    def parameters(self) -> list[Variable]:
        """The trainable Variables of this Module and its sub-Modules, in a fixed order:
        what an optimizer should train (params=module.parameters())."""
        return [var for _, var in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, Variable]]:
        """('bn.running_mean', Variable) pairs of the Variables made with trainable=False:
        state a layer keeps but no optimizer should change, PyTorch's buffers."""
        return [(name, var) for name, var in self._named_variables() if not var.trainable]

    def buffers(self) -> list[Variable]:
        """The non-trainable Variables of this Module and its sub-Modules (named_buffers)."""
        return [var for _, var in self.named_buffers()]

    # -- training and evaluation -------------------------------------------------------
    def train(self, mode=True):
        """PyTorch's model.train() / model.eval() switch a module's state; here one graph
        serves both, and each run says which it is: this says so to the PyTorch user."""
        raise TypeError(
            f"{type(self).__name__}.{'train' if mode else 'eval'}(): a symgraph Module has no "
            "training mode to switch; one graph serves both. Feed {sg.nn.training_flag(): True} "
            "in the training runs (Dropout reads it) and nothing in the evaluation runs"
        )

    def eval(self):
        """See train(): there is no mode to switch."""
        self.train(False)

    def children(self) -> list[Module]:
        return list(self._modules.values())

    @property
    def scope(self) -> str:
        return self._scope

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self.extra_repr().items())
        lines = [f"{type(self).__name__}({inner})"]
        for name, m in self._modules.items():
            lines.append("  " + f"({name}): {m!r}".replace("\n", "\n  "))
        return "\n".join(lines)

    def extra_repr(self) -> dict:
        return {}

