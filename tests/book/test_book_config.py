"""The book's configuration: the version it shows and the Colab/Binder first cell."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

from IPython.core.interactiveshell import InteractiveShell

import llmlab

REPO = Path(__file__).resolve().parents[2]


def test_package_version_matches_pyproject() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    version = re.search(r'(?m)^version = "([^"]+)"$', pyproject)
    assert version, "pyproject.toml has no version line"
    assert llmlab.__version__ == version.group(1)


def first_cell_snippet() -> str:
    """The install cell documented in book/setup.md, between its marker comments."""
    setup = (REPO / "book" / "setup.md").read_text()
    match = re.search(r"```ipython\n(# On Colab.*?)```", setup, re.S)
    assert match, "book/setup.md lost its first-cell snippet"
    return match.group(1)


def run_in_ipython(code: str) -> list[str]:
    """Run code as an IPython cell; return the %pip lines it would have run."""
    shell = InteractiveShell.instance()
    calls: list[str] = []
    with mock.patch.object(
        shell,
        "run_line_magic",
        side_effect=lambda name, line, *a: calls.append(name + " " + line),
    ):
        result = shell.run_cell(code)
    result.raise_error()
    return calls


def test_first_cell_snippet_is_a_no_op_where_llmlab_is_installed() -> None:
    assert run_in_ipython(first_cell_snippet()) == []


def test_first_cell_snippet_installs_llmlab_where_it_is_missing() -> None:
    real_find_spec = __import__("importlib.util").util.find_spec

    def find_spec(name, *args):
        return None if name == "llmlab" else real_find_spec(name, *args)

    with mock.patch("importlib.util.find_spec", find_spec):
        calls = run_in_ipython(first_cell_snippet())
    assert calls == [
        'pip install -q "llmlab @ git+https://github.com/llmlab-course/llmlab"'
    ]
