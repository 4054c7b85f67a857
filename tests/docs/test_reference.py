"""The reference pages document every public name, and the layout page every file of the package."""

from __future__ import annotations

import importlib
import inspect
import os
import re

import pytest

import symgraph as sg

from .codeblocks import DOCS, ROOT

REFERENCE = os.path.join(DOCS, "reference")
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$")
_MEMBERS = re.compile(r"^\s+members:\s*\[([^\]]*)\]\s*$")


def documented_paths() -> list[str]:
    """Every dotted path the reference pages render with `::: path` (members expanded)."""
    paths = []
    for name in sorted(os.listdir(REFERENCE)):
        if not name.endswith(".md"):
            continue
        current = None
        with open(os.path.join(REFERENCE, name), encoding="utf-8") as f:
            for line in f:
                directive = _DIRECTIVE.match(line)
                if directive:
                    current = directive[1]
                    paths.append(current)
                    continue
                members = _MEMBERS.match(line)
                if members and current:
                    paths += [f"{current}.{m.strip()}" for m in members[1].split(",") if m.strip()]
    return paths


def resolve(path: str):
    """The object at a dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def public_names() -> list[tuple[str, object]]:
    """(shown name, object) for sg.__all__ and the public names of sg.nn, sg.optim, sg.data, sg.testing."""
    names = [(f"sg.{n}", getattr(sg, n)) for n in sg.__all__ if n != "__version__"]
    names += [(f"sg.nn.{n}", getattr(sg.nn, n)) for n in sg.nn.__all__]
    for module in (sg.optim, sg.data, sg.testing):
        for n, obj in vars(module).items():
            defined_here = getattr(obj, "__module__", None) == module.__name__
            if not n.startswith("_") and defined_here and callable(obj):
                names.append((f"{module.__name__.replace('symgraph', 'sg')}.{n}", obj))
    return names


def test_every_reference_directive_names_a_real_object():
    for path in documented_paths():
        resolve(path)  # raises if the page names something that does not exist


@pytest.mark.parametrize("shown, obj", public_names(), ids=[n for n, _ in public_names()])
def test_every_public_name_has_a_reference_entry(shown, obj):
    if inspect.ismodule(obj):  # sg.nn, sg.optim, ...: its own names are checked one by one
        assert any(
            p == obj.__name__ or p.startswith(obj.__name__ + ".") for p in documented_paths()
        )
        return
    documented = [resolve(p) for p in documented_paths()]
    assert any(d is obj for d in documented), (
        f"{shown} is public but no page in docs/reference/ renders it with `::: path`"
    )


def test_every_package_file_is_on_the_code_layout_page():
    with open(os.path.join(DOCS, "guides", "code-layout.md"), encoding="utf-8") as f:
        page = f.read()
    missing = []
    for folder, _, files in os.walk(os.path.join(ROOT, "symgraph")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, "/")
                if path not in page:
                    missing.append(path)
    assert not missing, f"docs/guides/code-layout.md does not walk through: {sorted(missing)}"
