"""Run the Python code blocks of a docs page, in order, as a reader would.

Every ```python block of a page runs in one namespace, fresh for the page, one
block after another, so a later block can use what an earlier one built. Two
kinds of block say more about themselves:

- a block whose first line is `# raises ShapeError` (any exception name: symgraph's
  own, then builtins) must raise that exception; the page goes on after it;
- a ```text title="output" block right after a Python block must equal what that
  block printed (for a raising block: its print-out, then `ShapeError: message`).

Other ```text blocks are not checked (a training log, a shell session).

    python tests/docs/codeblocks.py docs/tutorials/first-graph.md           # run one page
    python tests/docs/codeblocks.py --update docs/tutorials/errors.md       # rewrite its outputs

`--update` writes what each checked block now prints into its output block: use it
after changing a page, then read the diff.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import re
import sys
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
_RAISES = re.compile(r"^#\s*raises\s+(?P<name>[A-Za-z_][\w.]*)\s*$")


@dataclass
class Block:
    lang: str  # "python", "text", "sh", ... ("" when the fence names none)
    title: str | None  # the title="..." of the fence, if any
    code: str  # the block's text, de-indented to the fence
    line: int  # 1-based line of the block's first line of code in the page
    start: int  # 0-based index of the opening fence line
    end: int  # 0-based index of the closing fence line

    @property
    def raises(self) -> str | None:
        """The exception name of a `# raises Name` first line, or None."""
        first = self.code.lstrip("\n").split("\n", 1)[0].strip()
        match = _RAISES.match(first)
        return match["name"] if match else None

    @property
    def is_output(self) -> bool:
        return self.lang == "text" and self.title == "output"


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order."""
    lines = text.split("\n")
    found, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        lang = info.split()[0].lstrip(".").lower() if info else ""
        if lang.startswith("{"):  # ```{.python title="x"}
            lang = info.strip("{}").split()[0].lstrip(".").lower()
        title = _TITLE.search(info)
        body, j = [], i + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while j < len(lines) and not closing.match(lines[j]):
            body.append(
                lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip()
            )
            j += 1
        found.append(Block(lang, title["title"] if title else None, "\n".join(body), i + 2, i, j))
        i = j + 1
    return found


def _exception_type(name: str):
    import symgraph as sg

    obj = sg
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return obj
    obj = getattr(builtins, name, None)
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return obj
    raise LookupError(f"`# raises {name}`: no such exception in symgraph or builtins")


def normalize(text: str) -> str:
    """Trailing spaces and blank lines at either end do not count."""
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip("\n")


@dataclass
class Failure:
    page: str
    line: int
    message: str

    def __str__(self):
        return f"{self.page}:{self.line}: {self.message}"


def run_page(path: str, update: bool = False) -> list[Failure]:
    """Run every Python block of the page at `path`; return what went wrong (empty: all good).

    The blocks run in the current directory, in one fresh namespace. With `update`, each
    output block is rewritten with what its Python block printed, and the page saved.
    """

    for _ in range(4 if update else 1):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with _isolated():
            failures = _run(text, path, update)
        with open(path, encoding="utf-8") as f:
            if f.read() == text:  # settled: an update that changed nothing
                break
        # Output blocks grew or shrank, so the lines below them moved, and a message
        # naming a line ("created at page.md:40") may be stale: run the page again.
    return failures


@contextlib.contextmanager
def _isolated():
    """Whatever a page changes in symgraph's global state is put back afterwards: the op
    registry (a page may define an op), the pass list, init's shared generator, NumPy's
    global random state, and the default graph."""
    import copy

    import numpy as np

    import symgraph as sg
    from symgraph.compiler import passes
    from symgraph.nn import init
    from symgraph.ops.base import REGISTRY

    registry, pass_list = dict(REGISTRY), list(passes.PASSES)
    rng, np_state = copy.deepcopy(init.generator()), np.random.get_state()
    try:
        yield
    finally:
        REGISTRY.clear()
        REGISTRY.update(registry)
        passes.PASSES[:] = pass_list
        init._rng = rng
        np.random.set_state(np_state)
        sg.reset_default_graph()


def _run(text: str, path: str, update: bool) -> list[Failure]:
    import numpy as np

    import symgraph as sg

    page = os.path.relpath(path, ROOT)
    all_blocks = blocks(text)
    failures: list[Failure] = []
    rewrites: list[tuple[Block, str]] = []
    namespace = {"__name__": "__main__", "__file__": page}
    sg.reset_default_graph()
    sg.nn.init.seed(0)  # every page starts from the same random numbers, whatever ran before
    np.random.seed(0)
    for index, block in enumerate(all_blocks):
        if block.lang != "python":
            continue
        expected = None
        if index + 1 < len(all_blocks) and all_blocks[index + 1].is_output:
            expected = all_blocks[index + 1]
        out = io.StringIO()
        raised = None
        try:
            code = compile("\n" * (block.line - 1) + block.code, page, "exec")
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except BaseException as e:  # noqa: BLE001 - every failure is reported, with its line
            raised = e
        printed = out.getvalue()
        wanted = block.raises
        if wanted is not None:
            try:
                kind = _exception_type(wanted)
            except LookupError as e:
                failures.append(Failure(page, block.line, str(e)))
                continue
            if raised is None:
                failures.append(
                    Failure(page, block.line, f"expected {wanted}, but nothing was raised")
                )
                continue
            if not isinstance(raised, kind):
                failures.append(
                    Failure(
                        page,
                        block.line,
                        f"expected {wanted}, got {type(raised).__name__}: {raised}\n{_where(raised, page)}",
                    )
                )
                continue
            printed += f"{type(raised).__name__}: {raised}\n"
        elif raised is not None:
            failures.append(
                Failure(
                    page,
                    block.line,
                    f"{type(raised).__name__}: {raised}\n{_where(raised, page)}"
                    + (f"\nit printed:\n{printed}" if printed else ""),
                )
            )
            continue
        if expected is not None:
            if update:
                rewrites.append((expected, printed))
            elif normalize(printed) != normalize(expected.code):
                failures.append(
                    Failure(
                        page,
                        expected.line,
                        "the output block differs from what the code above it prints.\n"
                        f"--- the page says:\n{normalize(expected.code)}\n--- the code prints:\n"
                        f"{normalize(printed)}\n(python tests/docs/codeblocks.py --update {page} "
                        "rewrites it)",
                    )
                )
    if update and rewrites:
        lines = text.split("\n")
        for block, printed in sorted(rewrites, key=lambda r: -r[0].start):
            indent = _FENCE.match(lines[block.start])["indent"]
            new = [indent + line if line else line for line in normalize(printed).split("\n")]
            lines[block.start + 1 : block.end] = new
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    return failures


def _where(error: BaseException, page: str) -> str:
    """The lines of the page in the traceback, innermost last."""
    lines = []
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == page:
            lines.append(f"  at {page}:{tb.tb_lineno}")
        tb = tb.tb_next
    return "\n".join(lines)


def pages() -> list[str]:
    """Every Markdown page under docs/, sorted."""
    found = []
    for folder, _, files in os.walk(DOCS):
        found += [os.path.join(folder, f) for f in files if f.endswith(".md")]
    return sorted(found)


def main(argv=None) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Run the Python blocks of docs pages.")
    parser.add_argument("pages", nargs="*", help="Markdown files (default: every page in docs/)")
    parser.add_argument("--update", action="store_true", help="rewrite the output blocks")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    bad = 0
    for path in [os.path.abspath(p) for p in args.pages] or pages():
        with tempfile.TemporaryDirectory() as tmp:
            cwd = os.getcwd()
            os.chdir(tmp)
            try:
                failures = run_page(path, update=args.update)
            finally:
                os.chdir(cwd)
        print(
            f"{os.path.relpath(path, ROOT)}: {'ok' if not failures else f'{len(failures)} failed'}"
        )
        for failure in failures:
            print(failure)
        bad += len(failures)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
