"""Repository-level rules: importing llmlab does nothing observable, and internal
imports point one way (STYLE.md, "Package layout by capability")."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import llmlab

PACKAGE = Path(llmlab.__file__).parent

# Which subpackages each subpackage may import. Anything imports utils and exercises'
# own core; nothing but notebooks imports utils.show.
ALLOWED = {
    "tokenizer": {"tokenizer"},
    "model": {"model"},
    "data": {"data", "tokenizer"},
    "train": {"train", "model", "data", "tokenizer"},
    "generate": {"generate", "model", "tokenizer"},
    "context": {"context", "generate", "model", "tokenizer"},
    "distributed": {"distributed", "train", "model", "data", "tokenizer"},
    "rlhf": {"rlhf", "train", "generate", "context", "model", "data", "tokenizer"},
    "recipes": None,  # the layer on top: zoo and command lines may import anything
    "exercises": None,  # checkers may call any finished piece as an oracle
    "utils": {"utils"},
}


def all_modules() -> list[str]:
    names = ["llmlab"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="llmlab."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_importing_every_module_has_no_side_effects(tmp_path) -> None:
    script = f"""
import json, logging, os, sys, threading
before = set(os.listdir('.'))
import importlib
for name in {all_modules()!r}:
    importlib.import_module(name)
import torch
print(json.dumps({{
    "threads": threading.active_count(),
    "handlers": len(logging.getLogger().handlers),
    "cuda_initialized": torch.cuda.is_initialized(),
    "new_files": sorted(set(os.listdir('.')) - before),
}}))
"""
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {
        "threads": 1,
        "handlers": 0,
        "cuda_initialized": False,
        "new_files": [],
    }
    assert not any(home.iterdir()), f"import wrote to $HOME: {list(home.iterdir())}"


def _imported_subpackages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "llmlab" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_internal_imports_point_one_way() -> None:
    problems = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        owner = parts[0]
        if path.name == "__main__.py":
            continue  # entry points may import the recipe layer above them
        allowed = ALLOWED.get(owner)
        assert owner in ALLOWED, f"new subpackage {owner!r}: add it to ALLOWED"
        if allowed is None:
            continue
        for target in _imported_subpackages(path) - allowed - {"utils"}:
            problems.append(f"{path.relative_to(PACKAGE)} imports llmlab.{target}")
        if "show" in path.read_text(encoding="utf-8") and owner != "utils":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.module == "llmlab.utils.show"
                ):
                    problems.append(f"{path.relative_to(PACKAGE)} imports utils.show")
    assert not problems, "\n".join(problems)


def test_a_capability_module_loads_only_what_is_below_it() -> None:
    """Importing the schedule loads llmlab.train and what it may import, no recipe."""
    script = """
import json, sys
import llmlab.train.schedule
print(json.dumps(sorted(m for m in sys.modules if m.startswith("llmlab."))))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    above = [m for m in loaded if m.split(".")[1] not in ALLOWED["train"] | {"utils"}]
    assert not above, f"importing llmlab.train.schedule loaded {above}"


def test_no_capability_package_imports_the_recipes() -> None:
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] == "recipes" or path.name == "__main__.py":
            continue
        assert "recipes" not in _imported_subpackages(path), path
