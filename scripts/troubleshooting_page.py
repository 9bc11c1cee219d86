"""Write book/troubleshooting.md by running every bad-input case of the test suite.

Each area keeps its cases in ``tests/<area>/bad_inputs.py`` (``SECTION``, ``INTRO``,
``NOTES`` and ``CASES``; see tests/tokenizer/bad_inputs.py). This script runs each
case and writes what it gave, so the page shows the messages the code really
produces; tests/test_troubleshooting.py fails when the page is out of date.

    PYTHONPATH=. python scripts/troubleshooting_page.py          # rewrite the page
    PYTHONPATH=. python scripts/troubleshooting_page.py --check  # exit 1 if stale
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "troubleshooting.md"

HEADER = """\
# Troubleshooting

What `llmlab` says when it is given something it can not use. Every message below
was produced by running the example shown: `scripts/troubleshooting_page.py` writes
this page from the cases in `tests/*/bad_inputs.py`, the same cases the tests run,
and a test fails when the page and the messages differ. Paths are shown as `<dir>`.
"""


def areas() -> list:
    """The ``bad_inputs`` modules of the test folders, in folder order."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    found = sorted(ROOT.glob("tests/*/bad_inputs.py"))
    return [importlib.import_module(f"tests.{p.parent.name}.bad_inputs") for p in found]


def outcome(case: dict) -> tuple[str, str]:
    """(what happened, message): the exception's type name, or "result"."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            shown = case["run"](Path(folder))
        except Exception as error:  # the case's error is what the page shows
            kind, message = type(error).__name__, str(error)
        else:
            kind, message = "result", str(shown)
        return kind, message.replace(folder, "<dir>")


def _wrap(text: str) -> str:
    lines = textwrap.wrap(
        text, width=84, break_long_words=False, break_on_hyphens=False
    )
    return "\n".join(lines)


def render_case(case: dict) -> str:
    kind, message = outcome(case)
    shown = message if kind == "result" else f"{kind}: {message}"
    return (
        f"**{case['title']}**\n\n```python\n{case['code']}\n```\n\n"
        f"```text\n{_wrap(shown)}\n```\n"
    )


def render() -> str:
    """The whole page."""
    parts = [HEADER]
    for area in areas():
        parts.append(f"## {area.SECTION}\n\n{area.INTRO}\n")
        parts += [render_case(case) for case in area.CASES]
        if area.NOTES:
            parts.append(area.NOTES)
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args()
    text = render()
    if args.check:
        same = PAGE.is_file() and PAGE.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{PAGE} is out of date; rerun without --check")
        return 0 if same else 1
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
