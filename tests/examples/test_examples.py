"""Every example runs, on a short budget, and learns something (its loss falls).

The quick ones also run in full and must reach the figures their docstrings promise.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# example -> arguments for a short run
SHORT_RUNS = {
    "xor.py": ["--steps", "300"],
    "mlp_digits.py": ["--epochs", "3"],
    "char_rnn.py": ["--steps", "80", "--sample", "20"],
    "binary_addition.py": ["--steps", "200"],
    "custom_op.py": ["--steps", "200"],
}


def run_example(name, *args, cwd=None):
    """Run an example in a scratch folder (it saves a picture of its graph there)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if cwd is None:
        cwd = tempfile.mkdtemp(prefix="symgraph-example-")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=600, env=env, cwd=cwd,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def final_figure(output, label):
    return float(re.search(rf"{label} ([0-9.eE+-]+)", output).group(1))


def test_every_example_has_a_short_run():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert set(scripts) == set(SHORT_RUNS), "add each new example to SHORT_RUNS"


@pytest.mark.parametrize("name", sorted(SHORT_RUNS))
def test_example_runs_and_its_loss_falls(name):
    output = run_example(name, *SHORT_RUNS[name])
    losses = [float(v) for v in re.findall(r"\bloss\s+([0-9.eE+-]+)", output)]
    assert len(losses) >= 2, output
    assert losses[-1] < losses[0] * 0.7, output


@pytest.mark.parametrize("name", sorted(SHORT_RUNS))
def test_example_saves_a_picture_of_its_graph(name, tmp_path, require_program):
    require_program("dot")
    output = run_example(name, *SHORT_RUNS[name], "--picture", "graph.svg", cwd=tmp_path)
    assert "picture of the graph: graph.svg" in output
    svg = (tmp_path / "graph.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_xor_reaches_a_loss_below_0_01():
    assert final_figure(run_example("xor.py"), "final loss") < 0.01


def test_mlp_digits_reaches_95_percent_test_accuracy():
    assert final_figure(run_example("mlp_digits.py"), "final test accuracy") >= 0.95


def test_binary_addition_gets_every_held_out_sum_right():
    output = run_example("binary_addition.py", "--steps", "400")
    assert final_figure(output, "final held-out accuracy") == 1.0


def test_char_rnn_beats_the_unigram_baseline_quickly():
    output = run_example("char_rnn.py", "--steps", "80", "--sample", "50")
    match = re.search(r"final loss ([0-9.]+) against a unigram baseline of ([0-9.]+)", output)
    loss, unigram = float(match.group(1)), float(match.group(2))
    assert loss < unigram
    assert len(output.split("sample:\n", 1)[1]) >= 40  # it wrote the text it was asked for


def test_custom_op_checks_its_gradient_and_fits_sin():
    output = run_example("custom_op.py", "--steps", "400")
    assert "swish gradient matches finite differences" in output
    assert final_figure(output, "final loss") < 0.01


def run_example_expecting_an_error(name, *args):
    """Run an example that must refuse its arguments; its error output."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                            text=True, timeout=120, env=env, cwd=tempfile.mkdtemp())
    assert result.returncode == 2, result.stdout + result.stderr  # argparse's usage error
    return result.stderr


@pytest.mark.parametrize("name", sorted(SHORT_RUNS))
def test_example_refuses_a_negative_seed_as_a_usage_error(name):
    """--seed -1 ended in a NumPy (or scikit-learn) traceback (found by a bug hunt)."""
    assert "--seed must be 0 or more" in run_example_expecting_an_error(name, "--seed", "-1")


def test_char_rnn_refuses_a_sequence_longer_than_its_text():
    """--seq 200000 built a 200,000-step graph before failing (found by a bug hunt)."""
    assert "--seq must be at most" in run_example_expecting_an_error("char_rnn.py", "--seq", "200000")
