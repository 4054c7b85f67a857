"""The same graph gives byte-identical DOT, run after run."""

from __future__ import annotations

import re

import numpy as np

import symgraph as sg

from .models import mlp, rnn


def build_and_draw(**options) -> str:
    with sg.Graph().as_default() as graph:
        mlp()
        rnn(steps=3)
        return sg.to_dot(graph, **options)


def test_two_builds_of_one_graph_give_identical_dot():
    for options in [
        {},
        dict(names=True, shapes="edge", dtypes=True, grad_links=True),
        dict(collapse=["rnn/step_*", "gradients/*"]),
        dict(collapse=1),
    ]:
        assert build_and_draw(**options) == build_and_draw(**options)


def test_dot_holds_no_python_ids_or_addresses():
    text = build_and_draw()
    assert not re.search(r"0x[0-9a-f]{6,}", text)
    assert " at 0x" not in text


def test_values_are_deterministic_too():
    def draw():
        with sg.Graph().as_default() as graph:
            m = mlp()
            with sg.Session(graph) as sess:
                feed = {m["x"]: np.ones((4, 2), "float32"), m["y"]: np.zeros((4, 1), "float32")}
                return sg.to_dot(m["loss"], session=sess, feed_dict=feed)

    assert draw() == draw()


def test_two_processes_write_the_same_dot(tmp_path):
    """Different hash seeds and object addresses: still the same bytes."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "import symgraph as sg\n"
        "from viz.models import mlp, rnn\n"
        "mlp(); rnn(steps=3)\n"
        "sys.stdout.write(sg.to_dot(sg.get_default_graph(), names=True, grad_links=True))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=root)
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].startswith("digraph")


def test_a_pdf_carries_a_fixed_date_so_two_renders_are_identical(tmp_path, require_program):
    """cairo stamps the time into each PDF; render puts a fixed one of the same length
    in its place, so the file's byte offsets (its index) stay right."""
    require_program("dot")
    from symgraph.viz.layout import _without_date

    stamped = b"%PDF-1.5\n<< /CreationDate (D:20261127163352Z) >>\nxref"
    fixed = _without_date(stamped)
    assert fixed == b"%PDF-1.5\n<< /CreationDate (D:20000101000000Z) >>\nxref"
    # outside UTC cairo writes the zone's offset: the stand-in keeps a valid one, same length
    for zone, utc in [(b"+05'30", b"+00'00"), (b"-04'00'", b"+00'00'")]:
        stamped = b"<< /CreationDate (D:20261127163352" + zone + b") >>"
        assert _without_date(stamped) == b"<< /CreationDate (D:20000101000000" + utc + b") >>"
    with sg.Graph().as_default() as graph:
        mlp()
        data = (tmp_path / sg.render(graph, tmp_path / "a.pdf")).read_bytes()
    assert data.startswith(b"%PDF") and b"/CreationDate (D:20000101000000" in data
