"""Pictures annotated with the values of a run, and that run never changes a Variable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import symgraph as sg
from symgraph.__main__ import main

from .dotparse import parse
from .models import mlp

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
Y = np.array([[0], [1], [1], [0]], dtype="float32")


def test_each_node_shows_the_shape_and_a_summary_of_its_value():
    m = mlp()
    with sg.Session() as sess:
        dot = parse(sg.to_dot(m["loss"], session=sess, feed_dict={m["x"]: X, m["y"]: Y}))
        loss = sess.run(m["loss"], feed_dict={m["x"]: X, m["y"]: Y})
    mean_line = dot.label(dot.one("mse")).split("\n")[-1]
    assert abs(float(mean_line) - float(loss)) < 1e-3 * abs(float(loss))  # 4 digits shown
    tanh = dot.label(dot.one("tanh")).split("\n")[-1]
    assert tanh.startswith("(4, 3) mean ") and ", min " in tanh and ", max " in tanh
    assert dot.label(dot.one("y")) == "y\n(4, 1) [0.0 1.0 1.0 0.0]"


def test_drawing_values_commits_no_update_even_with_the_train_step_drawn():
    m = mlp()
    with sg.Session() as sess:
        before = {v: sess.run(v).copy() for v in (m["W1"], m["b1"], m["W2"], m["b2"])}
        text = sg.to_dot(sg.get_default_graph(), session=sess, feed_dict={m["x"]: X, m["y"]: Y})
        for var, value in before.items():
            np.testing.assert_array_equal(sess.run(var), value)
    dot = parse(text)
    # The update Nodes are drawn, without a value; the next value of W is shown.
    assigns = dot.ids_labelled("assign")
    assert assigns and all(dot.label(n) == "assign" for n in assigns)
    subs = [dot.label(n) for n in dot.ids_labelled("sub") if dot.cluster_path(n) == ["SGD"]]
    assert any("(2, 3)" in s for s in subs)


def test_a_placeholder_not_fed_is_marked_and_what_needs_it_has_no_value():
    m = mlp(train=False)
    with sg.Session() as sess:
        dot = parse(sg.to_dot(m["loss"], session=sess, feed_dict={m["x"]: X}))
    assert dot.label(dot.one("y")) == "y\nnot fed"
    assert dot.label(dot.one("mse")) == "mse\nmean"
    assert "(4, 3)" in dot.label(dot.one("tanh"))


def test_render_takes_a_session_too(tmp_path, require_program):
    require_program("dot")
    m = mlp()
    with sg.Session() as sess:
        path = sg.render(
            m["loss"], tmp_path / "v.svg", session=sess, feed_dict={m["x"]: X, m["y"]: Y}
        )
    assert "(4, 3) mean " in Path(path).read_text(encoding="utf-8")


def test_values_can_be_given_directly():
    m = mlp(train=False)
    dot = parse(sg.to_dot(m["h"], values={m["h"]: np.full((2, 3), np.nan, "float32")}))
    assert dot.label(dot.one("tanh")) == "tanh\n(2, 3), 6 NaN, 0 Inf"


def test_a_placeholder_with_a_default_shows_the_default_and_what_needs_it_has_values():
    # An evaluation run of a model with Dropout does not feed the training flag: the
    # run uses its default (False), and so does the picture.
    x = sg.Placeholder((None, 3), name="x")
    y = sg.sum(sg.nn.Dropout(0.5, seed=0)(x), name="total")
    with sg.Session() as sess:
        dot = parse(sg.to_dot(y, session=sess, feed_dict={x: np.ones((2, 3), "float32")}))
    assert dot.label(dot.one("training")) == "training\nFalse"
    assert dot.label(dot.one("total")) == "total\nsum\n6.0"


def test_the_command_line_values_use_a_placeholders_default(tmp_path):
    script = tmp_path / "scaled.py"
    script.write_text(
        "import numpy as np\nimport symgraph as sg\n"
        "x = sg.Placeholder((None, 3), name='x')\n"
        "k = sg.Placeholder((), name='scale', default=np.float32(2.0))\n"
        "z = sg.sum(x * k, name='z')\n"
        "with sg.Session() as s:\n"
        "    s.run(z, feed_dict={x: np.ones((2, 3), 'float32')})\n"
    )
    out = tmp_path / "v.dot"
    assert main(["render", str(script), "-o", str(out), "--first-run", "--values"]) == 0
    dot = parse(out.read_text())
    assert dot.label(dot.one("scale")) == "scale\n2.0"
    assert dot.label(dot.one("z")) == "z\nsum\n12.0"


@pytest.mark.parametrize("stream", ["seed", "rng"])
def test_drawing_values_leaves_the_random_streams_where_they_were(stream):
    # A picture taken between two training steps must not change the second step's
    # Dropout mask: the picture's run puts every stream back, new ones too.
    def masks(draw_at):
        sg.reset_default_graph()
        x = sg.Placeholder((None, 6), name="x")
        if stream == "seed":
            y = sg.nn.Dropout(0.5, seed=0)(x)
        else:
            y = sg.nn.Dropout(0.5, rng=np.random.default_rng(0))(x)
        feed = {x: np.ones((2, 6), "float32"), sg.nn.training_flag(): True}
        out = []
        with sg.Session() as sess:
            for step in range(3):
                if step in draw_at:
                    sg.to_dot(y, session=sess, feed_dict=feed)
                out.append(sess.run(y, feed_dict=feed))
        return out

    plain = masks(draw_at=())
    assert not np.array_equal(plain[0], plain[1])  # the stream does move from run to run
    for drawn in (masks(draw_at=(0,)), masks(draw_at=(1, 2))):
        for a, b in zip(plain, drawn):
            np.testing.assert_array_equal(a, b)
