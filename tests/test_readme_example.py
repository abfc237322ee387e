"""The README's notebook example runs as written (in a temporary folder, since it saves files)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

README = Path(__file__).resolve().parents[1] / "README.md"


def notebook_example(text: str) -> str | None:
    """The first ```python block after the first Markdown heading that mentions "notebook"."""
    heading = re.search(r"^#{1,6} [^\n]*notebook[^\n]*$", text, flags=re.IGNORECASE | re.MULTILINE)
    if heading is None:
        return None
    block = re.search(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text[heading.end():], flags=re.DOTALL | re.MULTILINE)
    return block.group(1) if block else None


def test_notebook_example_runs(tmp_path, monkeypatch):
    if not README.is_file():
        pytest.skip("README.md is absent: nothing to check yet")
    code = notebook_example(README.read_text(encoding="utf-8"))
    if code is None:
        pytest.skip('README.md has no ```python block under a heading containing "notebook" yet')
    monkeypatch.chdir(tmp_path)  # the example may save files (model, recording, LSTMVis folder)
    exec(compile(code, f"{README}:notebook example", "exec"), {"__name__": "readme_example"})


def test_extraction_finds_the_block_under_the_heading():
    text = "# x\n```python\nnot this\n```\n## Use it from a Notebook\nprose\n```python\na = 1\n```\n```python\nb\n```\n"
    assert notebook_example(text) == "a = 1\n"
    assert notebook_example("# nothing here\n```python\nx\n```\n") is None
