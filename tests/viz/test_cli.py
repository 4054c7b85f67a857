"""`python -m symgraph render SCRIPT.py -o graph.svg` on small scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import symgraph as sg
from symgraph.__main__ import main, run_script
from symgraph.session import Session

from .dotparse import parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import symgraph as sg

    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 3
    x = sg.Placeholder((None, 2), name="x")
    with sg.name_scope("dense"):
        W = sg.Variable(np.ones((2, 1), "float32"), name="W")
        out = x @ W
    loss = sg.mean(out * out, name="loss")
    train = sg.optim.SGD(lr=0.01).minimize(loss)
    extra = sg.exp(x, name="never_run")
    with sg.Session() as sess:
        for _ in range(steps):
            sess.run([loss, train], feed_dict={x: np.ones((4, 2), "float32")})
    print("trained", steps)
    """
)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return str(path)


def test_render_draws_the_default_graph_at_exit(script, tmp_path, capsys):
    out = tmp_path / "graph.dot"
    assert main(["render", script, "-o", str(out)]) == 0
    dot = parse(out.read_text())
    labels = {dot.label(n) for n in dot.model_nodes()}
    assert {
        "never_run\nexp",
        "step\ngroup",
        "assign",
        "W",
        "x",
    } <= labels  # everything, updates too
    printed = capsys.readouterr().out
    assert "trained 3" in printed and "wrote" in printed and "the default graph" in printed


def test_first_run_draws_what_the_first_session_run_fetches_and_stops_there(
    script, tmp_path, capsys
):
    out = tmp_path / "run.dot"
    assert main(["render", script, "-o", str(out), "--first-run"]) == 0
    labels = {parse(out.read_text()).label(n) for n in parse(out.read_text()).model_nodes()}
    assert "step\ngroup" in labels and "never_run\nexp" not in labels
    assert "trained" not in capsys.readouterr().out  # the script was stopped
    assert Session.run.__name__ == "run"  # and Session.run is itself again


def test_values_of_the_first_run_change_no_variable(script, tmp_path):
    run = run_script(script, stop_at_run=1, values=True)
    loss = next(n for n in run.fetches if n.name == "loss")
    assert float(run.values[loss]) == pytest.approx(4.0)
    W = next(v for v in run.graph.variables if v.name == "dense/W")
    assert (run.values[W] == 1).all()
    # The update's next value was computed and shown, but the run stopped before any commit.
    next_W = next(n for n in run.values if n.name == "SGD/sub")
    assert (run.values[next_W] < 1).all()
    assert (run.session._values.get(W, W.initial_value) == 1).all()
    out = tmp_path / "values.dot"
    assert main(["render", script, "-o", str(out), "--first-run", "--values"]) == 0
    assert "4.0" in out.read_text()


def test_arguments_after_a_double_dash_go_to_the_script(script, tmp_path, capsys):
    assert main(["render", script, "-o", str(tmp_path / "g.dot"), "--", "--steps", "1"]) == 0
    assert "trained 1" in capsys.readouterr().out


def test_errors_are_reported_with_an_exit_code(script, tmp_path, capsys):
    assert main(["render", str(tmp_path / "missing.py"), "-o", str(tmp_path / "g.dot")]) == 2
    assert main(["render", script, "-o", str(tmp_path / "g.dot"), "--run", "99"]) == 1
    assert "ended before its Session.run number 99" in capsys.readouterr().err
    empty = tmp_path / "empty.py"
    empty.write_text("print('nothing')\n")
    assert main(["render", str(empty), "-o", str(tmp_path / "g.dot")]) == 1
    failing = tmp_path / "exits.py"
    failing.write_text("import sys\nsys.exit(3)\n")
    assert main(["render", str(failing), "-o", str(tmp_path / "g.dot")]) == 3
    assert main(["render", script, "-o", str(tmp_path / "g.dot"), "--max-nodes", "3"]) == 1
    err = capsys.readouterr().err
    assert "collapse" in err
    assert "on the command line: --collapse auto" in err and "--max-nodes 0" in err
    assert len(sg.get_default_graph()) > 0


def test_python_dash_m_symgraph_renders_an_svg(script, tmp_path, require_program):
    require_program("dot")
    out = tmp_path / "graph.svg"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "symgraph", "render", script, "-o", str(out), "--collapse", "dense"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().lstrip().startswith("<?xml")


def test_help_says_which_graph_is_drawn():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "symgraph", "render", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "the default graph as the script leaves it when it ends" in text
    assert "first Session.run" in text


def test_an_output_that_cannot_be_written_is_said_before_the_script_runs(script, tmp_path, capsys):
    """A script may train for minutes; a typo in -o used to be found only after it."""
    for command, output, said in (
        ("render", tmp_path / "g.jpeg", "cannot tell the picture format from"),
        ("render", tmp_path / "nowhere" / "g.svg", "no folder"),
        ("explain", tmp_path / "nowhere" / "page.html", "no folder"),
    ):
        assert main([command, script, "-o", str(output)]) == 2
        captured = capsys.readouterr()
        assert said in captured.err
        assert "trained" not in captured.out  # the script never ran
