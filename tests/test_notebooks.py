"""House rules for the chapter notebooks, and proof that a broken one fails CI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.notebooks import chapter_paths, load, source

CHAPTERS = chapter_paths()


def test_there_are_chapters() -> None:
    assert CHAPTERS, "no chapters/NN_topic.ipynb found"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_house_rules(path) -> None:
    nb = load(path)
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code" and source(c).strip()]
    assert code, f"{path.name} has no code"
    # Committed with outputs, so the book renders them, and without errors.
    assert all(c.get("execution_count") for c in code), f"{path.name}: unexecuted cells"
    errors = [
        o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors, f"{path.name} was committed with an error output"
    # Executed in order, top to bottom, in one kernel.
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(counts), f"{path.name}: cells were not run top to bottom"
    # Says what it ran on, near the top.
    head = "".join(source(c) for c in code[:3])
    assert "describe_device" in head, f"{path.name}: state the device near the top"
    # Ends with a Checks section of asserts.
    headings = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "markdown" and source(c).lstrip().startswith("## Checks")
    ]
    assert headings, f"{path.name}: no '## Checks' section"
    after = [c for c in cells[headings[-1] :] if c["cell_type"] == "code"]
    assert any("assert " in source(c) for c in after), (
        f"{path.name}: Checks has no asserts"
    )


def _notebook(cells: list[str]) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": text,
            }
            for i, text in enumerate(cells)
        ],
    }


@pytest.mark.parametrize(
    "cells, should_pass",
    [
        (["x = 1", "assert x == 1"], True),
        (["x = 1", "assert False, 'a chapter claim that does not hold'"], False),
        (["raise RuntimeError('boom')"], False),
    ],
)
def test_nbval_command_fails_on_a_broken_notebook(tmp_path, cells, should_pass) -> None:
    """The same pytest + nbval invocation as the Makefile's test target."""
    path = tmp_path / "99_probe.ipynb"
    path.write_text(json.dumps(_notebook(cells)), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
            str(path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert (result.returncode == 0) == should_pass, result.stdout[-2000:]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_plot_has_alt_text(path) -> None:
    """Each cell with an image output describes it for readers who cannot see it.

    myst-nb reads the alt text from the cell's metadata, {"mystnb": {"image": {"alt":
    ...}}}; without it the book's <img> has only a file name (the browser test also
    checks the built pages).
    """
    missing = []
    for i, cell in enumerate(load(path)["cells"]):
        images = [
            o
            for o in cell.get("outputs", [])
            if any(k.startswith("image/") for k in o.get("data", {}))
        ]
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        if images and len(alt.split()) < 8:
            missing.append(f"cell {i} ({cell.get('id')})")
    assert not missing, f"{path.name}: plots without alt text: {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_solutions_are_collapsed_in_jupyterlab_and_the_book(path) -> None:
    """A solution cell starts hidden wherever the chapter is read.

    The book hides cells tagged ``hide-input`` behind a "Show solution" toggle (see
    book/_ext/llmlab_book.py); JupyterLab and Notebook 7 collapse a cell's source when
    its metadata has ``"jupyter": {"source_hidden": true}``.
    """
    cells = load(path)["cells"]
    solutions = [
        (i, c)
        for i, c in enumerate(cells)
        if "solution" in c["metadata"].get("tags", [])
    ]
    for i, cell in solutions:
        assert cell["cell_type"] == "code", f"{path.name}: cell {i}"
        assert "hide-input" in cell["metadata"]["tags"], (
            f"{path.name}: solution cell {i} is shown outright in the book"
        )
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, (
            f"{path.name}: solution cell {i} is not collapsed in JupyterLab "
            '(metadata "jupyter": {"source_hidden": true})'
        )


def colab_install_cell() -> str:
    """The first-cell snippet that book/setup.md documents (and tests/book runs)."""
    setup = (CHAPTERS[0].parents[1] / "book" / "setup.md").read_text()
    match = re.search(r"```ipython\n(# On Colab.*?)```", setup, re.S)
    assert match, "book/setup.md lost its first-cell snippet"
    return match.group(1).strip()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_llmlab_on_colab(path) -> None:
    """Colab opens a notebook alone: its first cell installs llmlab when missing."""
    code = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    first = code[0]
    assert source(first).strip() == colab_install_cell(), (
        f"{path.name}: the first code cell is not book/setup.md's install snippet"
    )
    assert "remove-cell" in first["metadata"].get("tags", []), (
        f"{path.name}: the install cell shows on the book's page (tag it remove-cell)"
    )
    assert not first.get("outputs"), f"{path.name}: the install cell has output"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_the_import_cell_is_collapsed_in_the_book(path) -> None:
    """The cell after the install snippet (imports, the device, the chapter's model)
    opens every chapter; the book shows its output and folds its 10-30 lines of
    imports behind a toggle (tag ``hide-input``)."""
    second = [c for c in load(path)["cells"] if c["cell_type"] == "code"][1]
    assert source(second).lstrip().startswith(("import ", "from ")), path.name
    assert "hide-input" in second["metadata"].get("tags", []), (
        f"{path.name}: the import cell is shown in full on the book's page"
    )
