"""Re-execute chapter notebooks in place, from a clean kernel, and time them.

Usage: python scripts/execute_notebooks.py chapters/00_overview.ipynb [...]
Run this (or ``make execute NB=...``) after editing a chapter, then commit the
notebook with its outputs: the book renders them and nbval re-checks them in CI.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 900) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:  # timestamps only make diffs noisy
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> None:
    if not paths:
        raise SystemExit(__doc__)
    for name in paths:
        seconds = execute(Path(name))
        print(f"{seconds:7.1f} s  {name}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
