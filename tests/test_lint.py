"""The code passes the project's linter (ruff, settings in ruff.toml), as part of the suite.

So the test command README gives checks the lint too, and CI needs no second step.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_finds_nothing_to_fix():
    if importlib.util.find_spec("ruff") is None:
        message = 'ruff is not installed; install the dev extra: pip install -e ".[dev]"'
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: a missing tool is a failure, not a skip)")
        pytest.skip(message)
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
