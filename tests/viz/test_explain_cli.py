"""`python -m symgraph explain SCRIPT.py -o page.html` on a small training script."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from symgraph.__main__ import main
from symgraph.compiler.passes import PASSES
from symgraph.session import Session

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Evaluates once, then trains: the first *training* run is Session.run number 2.
SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import symgraph as sg

    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 3
    x = sg.Placeholder((None, 2), name="x")
    with sg.name_scope("dense"):
        W = sg.Variable(np.ones((2, 1), "float32"), name="W")
        out = sg.tanh(x @ W)
    loss = sg.mean(out * out, name="loss")
    train = sg.optim.SGD(lr=0.01).minimize(loss)
    with sg.Session() as sess:
        print("before", sess.run(loss, feed_dict={x: np.ones((4, 2), "float32")}))
        for step in range(steps):
            sess.run([loss, train], feed_dict={x: np.ones((4, 2), "float32")})
            print("trained", step + 1)
    print("done")
    """
)


@pytest.fixture
def script(tmp_path, require_program):
    require_program("dot")
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return str(path)


def _title(page) -> str:
    text = page.read_text(encoding="utf-8")
    return text[text.index("<title>") + 7 : text.index("</title>")]


def test_explain_writes_the_page_of_the_first_training_run_and_stops_there(
    script, tmp_path, capsys
):
    page = tmp_path / "page.html"
    assert main(["explain", script, "-o", str(page)]) == 0
    printed = capsys.readouterr().out
    assert "before" in printed  # the evaluation ran ...
    assert "trained" not in printed and "done" not in printed  # ... the training did not
    assert "Session.run number 2, its first training run" in printed
    assert "Session.run number 2, its first training run" in _title(page)
    text = page.read_text(encoding="utf-8")
    assert text.count('<section class="step') == 3 + len(
        PASSES
    )  # forward, gradients, updates, then one per pass
    assert "SGD/step" in text  # the update Nodes are on the page
    assert "(4, 1) float32" in text  # shapes come from the fed values
    assert Session.run.__name__ == "run"  # Session.run is itself again


def test_run_n_picks_a_later_training_run_and_any_run_counts_every_run(script, tmp_path, capsys):
    page = tmp_path / "page.html"
    assert main(["explain", script, "-o", str(page), "--run", "2"]) == 0
    out = capsys.readouterr().out
    assert "trained 1" in out and "trained 2" not in out
    assert "Session.run number 3, its 2nd training run" in _title(page)
    assert main(["explain", script, "-o", str(page), "--any-run"]) == 0
    assert "before" not in capsys.readouterr().out
    assert "Session.run number 1, its first run" in _title(page)
    assert "SGD/step" not in page.read_text(encoding="utf-8")  # an evaluation: no updates


def test_a_script_that_never_trains_is_an_error_that_says_why(script, tmp_path, capsys):
    page = tmp_path / "page.html"
    assert main(["explain", script, "-o", str(page), "--", "--steps", "0"]) == 1
    err = capsys.readouterr().err
    assert "ended before its first training run" in err and "--any-run" in err
    assert not page.exists()
    assert main(["explain", str(tmp_path / "missing.py"), "-o", str(page)]) == 2
    with pytest.raises(SystemExit) as refused:  # argparse refuses it, as it does a bad option
        main(["explain", script, "-o", str(page), "--run", "0"])
    assert refused.value.code == 2


def test_passes_can_be_left_out(script, tmp_path):
    page = tmp_path / "page.html"
    assert main(["explain", script, "-o", str(page), "--disable", "fuse", "--disable", "cse"]) == 0
    text = page.read_text(encoding="utf-8")
    assert 'data-name="simplify"' in text and 'data-name="fuse"' not in text


def test_help_says_exactly_which_run_is_explained(capsys):
    with pytest.raises(SystemExit) as done:
        main(["explain", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "the first Session.run whose fetches include an update Node" in text
    assert "--run N the Nth training run instead" in text
    assert "--any-run count every Session.run" in text


def test_python_dash_m_symgraph_explain_passes_arguments_to_the_script(script, tmp_path):
    page = tmp_path / "page.html"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "symgraph",
            "explain",
            script,
            "-o",
            str(page),
            "--run",
            "2",
            "--",
            "--steps",
            "5",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "trained 1" in done.stdout and "trained 2" not in done.stdout
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("catch", ["except BaseException:", "except:"])
def test_a_script_that_catches_the_stop_runs_no_later_session_run(catch, tmp_path, capsys):
    path = tmp_path / "catching.py"
    path.write_text(
        SCRIPT.replace(
            '        sess.run([loss, train], feed_dict={x: np.ones((4, 2), "float32")})\n',
            "        try:\n"
            '            sess.run([loss, train], feed_dict={x: np.ones((4, 2), "float32")})\n'
            f"        {catch}\n"
            '            print("swallowed")\n',
        )
    )
    page = tmp_path / "page.html"
    assert main(["explain", str(path), "-o", str(page)]) == 0
    printed = capsys.readouterr().out
    # Every training run after the stopped one was stopped too: none ran.
    assert printed.count("swallowed") == 3 and "done" in printed
    assert "was stopped there" not in printed  # it was not: it went on
    assert "caught the stop and went on" in printed and page.exists()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--run", "0"], "runs are counted from 1"),
        (["--run", "-1"], "runs are counted from 1"),
        (["--disable", "bogus"], "no compiler pass named 'bogus'"),
    ],
)
def test_bad_arguments_are_refused_before_the_script_runs(args, said, tmp_path, capsys):
    path = tmp_path / "noisy.py"
    path.write_text("print('the script ran')\n")
    with pytest.raises(SystemExit) as stop:
        main(["explain", str(path), *args])
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert said in captured.err and "the script ran" not in captured.out


def test_render_refuses_a_run_number_below_one_before_the_script_runs(tmp_path, capsys):
    path = tmp_path / "noisy.py"
    path.write_text("print('the script ran')\n")
    with pytest.raises(SystemExit):
        main(["render", str(path), "-o", str(tmp_path / "g.dot"), "--run", "0"])
    captured = capsys.readouterr()
    assert "runs are counted from 1" in captured.err and "the script ran" not in captured.out
