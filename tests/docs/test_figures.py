"""docs/make_figures.py draws every picture the pages show, and the committed ones match what it draws."""

from __future__ import annotations

import importlib.util
import os
import re

from .codeblocks import DOCS, pages

FIGURES = os.path.join(DOCS, "figures")


def _load():
    spec = importlib.util.spec_from_file_location(
        "make_figures", os.path.join(DOCS, "make_figures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _referenced() -> set[str]:
    found = set()
    for path in pages():
        with open(path, encoding="utf-8") as f:
            found |= set(re.findall(r"\(\.*/?(?:\.\./)*figures/([\w.-]+)\)", f.read()))
    return found


def test_make_figures_draws_every_committed_figure(tmp_path, require_program):
    require_program("dot")
    written = _load().main(["--out", str(tmp_path)])
    names = sorted(os.path.basename(p) for p in written)
    committed = sorted(n for n in os.listdir(FIGURES) if not n.startswith("."))
    assert names == committed, "run `python docs/make_figures.py` and commit docs/figures/"
    for name in names:
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in text, name


def test_every_figure_a_page_shows_is_drawn_by_make_figures():
    drawn = set(_load().FIGURES)
    assert _referenced() <= drawn, sorted(_referenced() - drawn)
    unused = drawn - _referenced()
    assert not unused, f"figures no page shows: {sorted(unused)}"


def test_the_readme_figure_is_drawn_by_make_figures():
    with open(os.path.join(os.path.dirname(DOCS), "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert "](docs/figures/mlp.svg)" in readme
    assert "mlp.svg" in _load().FIGURES
