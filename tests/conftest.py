"""Settings shared by every test: hypothesis profiles and a fresh default graph."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from _system import require_program as _require_program

# "ci": the same examples on every run, so a red CI can be replayed exactly.
settings.register_profile(
    "ci", derandomize=True, max_examples=30, deadline=None, print_blob=True, database=None
)
# "dev": random examples, remembered in .hypothesis/ when one fails.
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)


@pytest.fixture(autouse=True)
def _fresh_default_graph():
    """Every test starts with an empty default graph, whatever the test before it built."""
    import symgraph  # imported here, so collection errors name the test; an ImportError raises

    symgraph.reset_default_graph()
    yield


@pytest.fixture
def require_program():
    """The `require_program(name)` helper from tests/_system.py, as a fixture."""
    return _require_program
