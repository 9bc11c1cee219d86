"""The default corpus: the Python standard library's own source code.

Every Python install carries it, so the course trains on real text with no
download. Its exact contents differ between Python versions, so nothing may rely
on its size or hash; the file order is deterministic (sorted relative paths).

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

# Test suites and vendored third-party code are excluded: they are huge, repetitive
# and less like the Python people write.
_EXCLUDED_PARTS = {
    "test",
    "tests",
    "idle_test",
    "site-packages",
    "__pycache__",
    "lib2to3",
    "ensurepip",
    "turtledemo",
    # Generated tables rather than code people write: codec maps, pydoc's help
    # text, the build's configuration dump.
    "encodings",
    "pydoc_data",
}
_EXCLUDED_PREFIXES = ("_sysconfigdata",)


def stdlib_files(root: str | Path | None = None) -> list[Path]:
    """Paths of the standard library's ``.py`` files, sorted by relative path.

    ``root`` defaults to this interpreter's standard library directory.
    """
    base = Path(root) if root is not None else Path(sysconfig.get_paths()["stdlib"])
    if not base.is_dir():
        raise FileNotFoundError(f"standard library directory not found: {base}")
    files = [
        p
        for p in base.rglob("*.py")
        if not _EXCLUDED_PARTS.intersection(p.relative_to(base).parts)
        and not p.name.startswith(_EXCLUDED_PREFIXES)
    ]
    return sorted(files, key=lambda p: p.relative_to(base).as_posix())


def read_text(paths: list[Path], *, max_bytes: int | None = None) -> str:
    """Concatenate files (UTF-8) into one string, each followed by a blank line.

    With ``max_bytes``, stop after the file that crosses the limit: whole files only,
    so no file is cut mid-way.
    """
    parts, total = [], 0
    for path in paths:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        parts.append(text + "\n\n")
        total += len(text.encode("utf-8")) + 2
        if max_bytes is not None and total >= max_bytes:
            break
    return "".join(parts)
