"""House rules for the chapter notebooks, and proof that a broken one fails CI."""

from __future__ import annotations

import json
import os
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
