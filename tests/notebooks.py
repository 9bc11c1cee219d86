"""Helpers for tests that read the chapter notebooks."""

from __future__ import annotations

import json
from pathlib import Path

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def chapter_paths() -> list[Path]:
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def tagged(notebook: dict, tag: str) -> list[dict]:
    return [
        c for c in notebook["cells"] if tag in c.get("metadata", {}).get("tags", [])
    ]
