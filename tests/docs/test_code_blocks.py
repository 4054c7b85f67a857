"""Every Python code block in docs/ runs, in order, page by page, and prints what the page says.

How it works is in codeblocks.py: the blocks of one page run in one fresh namespace in
a temporary folder; a block starting `# raises SomeError` must raise it; a
```text title="output"``` block must equal what the block above it printed. After
changing a page, `python tests/docs/codeblocks.py --update docs/PAGE.md` rewrites
its output blocks.
"""

from __future__ import annotations

import os

import pytest

from .codeblocks import DOCS, ROOT, blocks, pages, run_page

PAGES = pages()
#: fence languages the docs may use; a block in any other language would be skipped silently
KNOWN_LANGUAGES = {"python", "text", "sh"}


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _id(path: str) -> str:
    return os.path.relpath(path, DOCS)


def test_the_docs_have_pages_with_python_blocks():
    with_code = [p for p in PAGES if any(b.lang == "python" for b in blocks(_read(p)))]
    assert len(with_code) >= 15, [_id(p) for p in with_code]


@pytest.mark.parametrize("path", PAGES, ids=_id)
def test_every_code_block_uses_a_known_language(path):
    unknown = [(b.line, b.lang) for b in blocks(_read(path)) if b.lang not in KNOWN_LANGUAGES]
    assert not unknown, f"{_id(path)}: blocks in other languages (line, language): {unknown}"


@pytest.mark.parametrize("path", PAGES, ids=_id)
def test_every_output_block_follows_a_python_block(path):
    found = blocks(_read(path))
    orphans = [
        b.line
        for i, b in enumerate(found)
        if b.is_output and (i == 0 or found[i - 1].lang != "python")
    ]
    assert not orphans, f"{_id(path)}: output blocks with no Python block right before: {orphans}"


@pytest.mark.parametrize("path", [p for p in PAGES if "```python" in _read(p)], ids=_id)
def test_page_code_runs_and_prints_what_the_page_shows(
    path, tmp_path, monkeypatch, require_program
):
    if "sg.render(" in _read(path) or ".save_html(" in _read(path):
        require_program("dot")  # the page draws pictures
    monkeypatch.chdir(tmp_path)
    failures = run_page(path)
    assert not failures, "\n\n".join(str(f) for f in failures)


def test_block_parser_reads_titles_raises_and_lines():
    text = (
        'intro\n\n```python\n# raises ShapeError\nx = 1\n```\n\n```text title="output"\nhi\n```\n'
    )
    first, second = blocks(text)
    assert (first.lang, first.raises, first.line, first.code) == (
        "python",
        "ShapeError",
        4,
        "# raises ShapeError\nx = 1",
    )
    assert second.is_output and second.code == "hi"
    assert os.path.isdir(os.path.join(ROOT, "symgraph"))


def test_a_wrong_output_block_is_reported(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text('```python\nprint(1 + 1)\n```\n\n```text title="output"\n3\n```\n')
    monkeypatch.chdir(tmp_path)
    (failure,) = run_page(str(page))
    assert "differs" in failure.message and "2" in failure.message


def test_a_block_that_should_raise_but_does_not_is_reported(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("```python\n# raises ShapeError\nx = 1\n```\n")
    monkeypatch.chdir(tmp_path)
    (failure,) = run_page(str(page))
    assert "nothing was raised" in failure.message


def test_update_rewrites_output_blocks(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text('```python\nprint("new")\n```\n\n```text title="output"\nold\n```\n')
    monkeypatch.chdir(tmp_path)
    assert run_page(str(page), update=True) == []
    assert "new" in page.read_text() and "old" not in page.read_text()
    assert run_page(str(page)) == []


def test_a_page_leaves_no_registered_op_behind(tmp_path, monkeypatch):
    from symgraph.ops.base import REGISTRY

    before = set(REGISTRY)
    page = tmp_path / "page.md"
    page.write_text("```python\nimport symgraph as sg\n\nclass MyDocsOp(sg.Op):\n    pass\n```\n")
    monkeypatch.chdir(tmp_path)
    assert run_page(str(page)) == []
    assert set(REGISTRY) == before
