"""Packaging for symgraph; the metadata lives in setup.cfg.

The version is read from the ``__version__ = "..."`` line of
``symgraph/__init__.py`` as text, so building never imports the package
(and never needs numpy before it is installed).
"""

import re
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def read_version() -> str:
    init = (HERE / "symgraph" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init, re.MULTILINE)
    if match is None:
        raise RuntimeError('symgraph/__init__.py has no line like: __version__ = "0.1.0"')
    return match.group(1)


setup(version=read_version())
