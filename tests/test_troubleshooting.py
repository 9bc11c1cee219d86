"""The troubleshooting page lists each bad input with the message it really gives.

The cases live in ``tests/<area>/bad_inputs.py``; scripts/troubleshooting_page.py
writes book/troubleshooting.md from them. Here each case must give its error (type
and message), and the committed page must equal a fresh rendering.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "troubleshooting_page", ROOT / "scripts" / "troubleshooting_page.py"
)
page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(page)

CASES = [(area.SECTION, case) for area in page.areas() for case in area.CASES]


@pytest.mark.parametrize(
    "case", [c for _, c in CASES], ids=[f"{s}: {c['title']}" for s, c in CASES]
)
def test_case_gives_its_message(case) -> None:
    kind, message = page.outcome(case)
    want = "result" if case["raises"] is None else case["raises"].__name__
    assert kind == want, message
    assert re.search(case["match"], message), message


def test_every_area_has_cases() -> None:
    sections = {section for section, _ in CASES}
    assert {"Tokenizer", "Exercise checks"} <= sections
    assert len(CASES) >= 25


def test_the_page_is_up_to_date() -> None:
    committed = page.PAGE.read_text(encoding="utf-8")
    assert committed == page.render(), (
        "book/troubleshooting.md is out of date: run "
        "PYTHONPATH=. python scripts/troubleshooting_page.py"
    )
