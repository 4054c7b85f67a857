"""render: a picture file from any target, laid out by Graphviz's `dot` program.

The format comes from the file's suffix. `.dot` (or `.gv`) writes the DOT
text itself and needs nothing installed; `.svg`, `.png` and `.pdf` run `dot`,
and when it is missing say how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import graphviz

from symgraph.errors import RenderError
from symgraph.viz.dot import to_dot

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def install_advice() -> str:
    """How to get Graphviz's dot on this kind of machine, in one line."""
    if sys.platform == "darwin":
        return "install Graphviz: brew install graphviz (or conda install graphviz)"
    if sys.platform.startswith("win"):
        return "install Graphviz from https://graphviz.org/download/ and put its bin folder on PATH"
    sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
    return (
        f"install Graphviz: {sudo}apt-get install graphviz (Debian, Ubuntu), "
        f"{sudo}dnf install graphviz (Fedora), or conda install graphviz"
    )


#: what a picture can do without `dot`, said after the install advice
WITHOUT_DOT = "or save the DOT text with a .dot suffix, which needs nothing"


def find_dot(instead: str | None = WITHOUT_DOT) -> str:
    """The path of Graphviz's `dot` program; a RenderError with install advice if it is
    missing, and `instead`, what the caller can do without it (None: nothing)."""
    path = shutil.which("dot")
    if path is None:
        raise RenderError(
            "Graphviz's `dot` program is not on PATH, and it is needed to lay out pictures",
            hint=install_advice() + (f"; {instead}" if instead else ""),
        )
    return path


def layout_attempts(source: str) -> list[str]:
    """The DOT texts to give `dot`, in order, until one lays out.

    Graphviz 2.43 (Debian bookworm's) sometimes stops with "trouble in init_rank" on
    pictures with clusters and `group` attributes, such as an unrolled RNN's training
    step. The same picture without the groups (which only straighten chains) lays
    out, and without the clusters' frames it always does.
    """
    no_groups = re.sub(r" group=\w+", "", source)
    return [source, no_groups, no_groups.replace("subgraph cluster_", "subgraph plain_")]


def dot_to(source: str, fmt: str) -> bytes:
    """Lay out DOT text with `dot` and return the picture in format `fmt` (svg, png, pdf)."""
    find_dot()
    for attempt in layout_attempts(source):
        try:
            picture = graphviz.pipe("dot", fmt, attempt.encode("utf-8"), quiet=True)
            return _without_date(picture) if fmt == "pdf" else picture
        except graphviz.ExecutableNotFound:
            raise RenderError(
                "Graphviz's `dot` program could not be started", hint=install_advice()
            ) from None
        except subprocess.CalledProcessError as e:
            failed = e
    lines = (failed.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    shown = "\n".join(lines[:5]) + (f"\n... ({len(lines) - 5} more lines)" if len(lines) > 5 else "")
    raise RenderError(
        f"Graphviz's dot failed (exit {failed.returncode}): {shown or 'no message'}",
        hint="this is a bug in symgraph's drawing if the DOT came from sg.to_dot; "
        "please report it with the DOT text (render to a .dot file)",
    )


#: the time cairo writes into every PDF: D:YYYYMMDDHHMMSS and the zone, Z in UTC or
#: an offset such as +05'30 (or +05'30') elsewhere
_PDF_DATE = re.compile(rb"/CreationDate \(D:\d{14}(Z|[+-]\d\d'\d\d'?)\)")

#: a fixed zone of the same length as each of those, for a stand-in of the same length
_UTC_OF_LENGTH = {1: b"Z", 6: b"+00'00", 7: b"+00'00'"}


def _without_date(pdf: bytes) -> bytes:
    """The PDF with its creation time replaced by a fixed one, so that the same graph
    gives the same file, run after run and in every time zone (as it does in SVG and
    PNG). The stand-in has exactly the length of the time it replaces: a PDF's index
    gives the byte offsets of its parts, and they must stay right."""
    def fixed(match):
        zone = _UTC_OF_LENGTH[len(match.group(1))]
        return b"/CreationDate (D:20000101000000" + zone + b")"
    return _PDF_DATE.sub(fixed, pdf)


def svg(target, **options) -> str:
    """The picture of `target` as SVG text (needs `dot`)."""
    return dot_to(to_dot(target, **options), "svg").decode("utf-8")


def render(target, path, **options) -> str:
    """Draw `target` to `path`; the suffix picks the format: .svg .png .pdf, or .dot for the DOT.

    Takes every option of `to_dot` (names, shapes, collapse, session, feed_dict, ...).
    Returns the path written.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise RenderError(
            f"cannot tell the picture format from {path!r}",
            hint="end the file name with one of " + ", ".join(FORMATS),
        )
    source = to_dot(target, **options)
    data = source.encode("utf-8") if fmt == "dot" else dot_to(source, fmt)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RenderError(f"cannot write {path}: folder {folder} does not exist")
    with open(path, "wb") as f:
        f.write(data)
    return path
