"""The op table covers the registry: a new op fails here until it has a case in op_table.py."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.base import REGISTRY, Op

from .op_table import CASES, build


def _ops_built_by(case) -> list[str]:
    """The names of the ops whose Nodes building this case creates (leaves excluded)."""
    graph = sg.Graph()
    with graph.as_default():
        _, node = build(case, "float64")
        if case.observe is not None:
            case.observe(node)
    return [n.op.name for n in graph.nodes if not n.is_leaf]


def test_every_registered_op_has_a_case():
    exercised = {name for case in CASES for name in _ops_built_by(case)}
    missing = sorted(set(REGISTRY) - exercised)
    assert not missing, f"ops with no case in tests/ops/op_table.py: {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_builds_the_op_it_names(case):
    assert case.op in _ops_built_by(case)


def test_every_op_the_table_names_is_registered():
    # Catches an op class that builds Nodes but never reached REGISTRY
    # (as happened to every subclass of an abstract base like Elementwise).
    unknown = sorted({c.op for c in CASES} - set(REGISTRY))
    assert not unknown, f"table names ops that are not registered: {unknown}"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_leaf_ops_are_not_registered():
    assert not {"placeholder", "variable", "constant"} & set(REGISTRY)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_never_claims_a_gradient_its_op_lacks(case):
    if not REGISTRY[case.op].differentiable:
        assert not case.differentiable


def test_differentiable_cases_have_a_float_input():
    for case in CASES:
        if case.differentiable:
            kinds = [np.dtype(i.dtype_for("float64")).kind for i in case.inputs]
            assert "f" in kinds, case.id


def test_a_new_op_class_is_registered_by_its_snake_case_name():
    class FusedMultiplyAdd(Op):
        def infer(self, a, b, c):
            return a.shape, a.dtype

    try:
        assert REGISTRY["fused_multiply_add"] is FusedMultiplyAdd
    finally:
        del REGISTRY["fused_multiply_add"]


def test_a_concrete_subclass_of_an_abstract_op_is_registered():
    from symgraph.ops.math import Elementwise

    class CubeRoot(Elementwise):
        ufunc = np.cbrt

    try:
        assert "elementwise" not in REGISTRY  # the abstract base itself is not an op
        assert REGISTRY["cube_root"] is CubeRoot
    finally:
        del REGISTRY["cube_root"]


def test_an_op_cannot_take_a_built_in_ops_name():
    """The passes know ops by name: a user's Sigmoid with a temperature was rewritten by
    stabilize as the built-in sigmoid, its temperature dropped (found by a bug hunt)."""
    before = dict(REGISTRY)
    with pytest.raises(TypeError, match="op name 'sigmoid' is taken by symgraph.ops.math.Sigmoid"):

        class Sigmoid(sg.Op):  # noqa: F841 - defining it is the test
            def infer(self, x, *, t):
                return x.shape, x.dtype

    assert dict(REGISTRY) == before  # nothing registered

    def define():
        class TestOnlyOnce(sg.Op):
            def infer(self, x):
                return x.shape, x.dtype

        return TestOnlyOnce

    try:
        first, again = define(), define()  # the same class defined again: no clash
        assert REGISTRY["test_only_once"] is again and first is not again
    finally:
        REGISTRY.clear()
        REGISTRY.update(before)


def test_an_op_name_must_be_an_identifier():
    """Op names go into listings and comments of the generated source: a name with a
    newline in it ran as code there (found by a bug hunt). Such a name is refused."""
    before = dict(REGISTRY)
    for bad in ["evil\n    print('ran')\n    #", "my op", "1st", ""]:
        with pytest.raises(TypeError, match="letters, digits and underscores"):
            type("Odd", (sg.Op,), {"name": bad or 5})
    assert dict(REGISTRY) == before


def test_an_instance_named_oddly_still_stays_inside_the_comments():
    """A name set on an op object, not its class, is not checked when the class is made:
    the listing and the source keep it on one line, inside a comment."""
    from symgraph.graph import make_node

    class PlainDouble(sg.Op):
        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x * 2

    try:
        op = PlainDouble()
        op.name = "odd\nraise SystemExit('ran')\n#"
        x = sg.Placeholder((3,), dtype="float64", name="x")
        program = sg.compile(make_node(op, (x,)) + 1.0, feeds={x: np.ones(3)})
        assert "\nraise" not in program.source and "\nraise" not in str(program)
        compile(program.source, "<program>", "exec")  # still valid Python
        with sg.Session() as sess:
            for _ in range(3):  # the later runs run the generated source
                np.testing.assert_array_equal(sess.run(make_node(op, (x,)), {x: np.ones(3)}), 2.0)
    finally:
        del REGISTRY["plain_double"]
