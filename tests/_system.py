"""Helpers for tests that need a program from the system, such as Graphviz's `dot`.

On a developer's machine a missing program skips the test and says how to
install it; under CI (CI=true) it fails the test instead, so a missing install
step in CI never hides behind a row of skips.
"""

from __future__ import annotations

import os
import shutil

import pytest

# The Debian/Ubuntu package that provides each program the tests use.
DEBIAN_PACKAGES = {
    "dot": "graphviz",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


def require_program(name: str) -> str:
    """Return the path of program `name`, or skip the test (fail it under CI=true)."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = DEBIAN_PACKAGES.get(name, name)
    message = f"{name!r} is not installed; install with: apt-get install {package}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing program is a failure, not a skip)")
    pytest.skip(message)
