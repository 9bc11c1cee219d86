"""The API reference (book/api/) covers every public module of llmlab."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import llmlab

REPO = Path(__file__).resolve().parents[2]
# Exercise checkers are met through check("name", fn) in the chapters, not read.
NOT_IN_REFERENCE = ("llmlab.exercises",)


def public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(llmlab.__path__, prefix="llmlab."):
        parts = info.name.split(".")
        if info.ispkg or any(p.startswith("_") for p in parts):
            continue
        if not info.name.startswith(NOT_IN_REFERENCE):
            names.append(info.name)
    return sorted(names)


def documented_modules() -> set[str]:
    text = "\n".join(p.read_text() for p in (REPO / "book" / "api").glob("*.md"))
    found = set(re.findall(r"\.\. automodule:: (\S+)", text))
    for target in re.findall(r"\.\. auto(?:function|class):: (\S+)", text):
        found.add(target.rsplit(".", 1)[0])
    return found


def test_every_public_module_has_an_api_entry() -> None:
    missing = sorted(set(public_modules()) - documented_modules())
    assert not missing, (
        f"not in the API reference: {missing}; add a section to book/api/<package>.md"
    )


def test_every_api_entry_names_a_real_module() -> None:
    stale = sorted(documented_modules() - set(public_modules()))
    assert not stale, f"book/api/ documents modules that do not exist: {stale}"
