"""Every exercise: its checker rejects the notebook's stub and accepts the solution.

Stubs and solutions are read from the chapter notebooks themselves (cells tagged
``exercise`` and ``solution``), so what the learner sees is what is tested.
"""

from __future__ import annotations

import re

import pytest

from llmlab.exercises import all_exercises, check
from tests.notebooks import chapter_paths, load, source, tagged

CALL = re.compile(r"check\(\s*[\"'](\w+)[\"']\s*,\s*(\w+)")


def _cells(tag: str) -> list[tuple[str, str, str]]:
    """(exercise name, function name, cell source) for each tagged cell."""
    found = []
    for path in chapter_paths():
        for cell in tagged(load(path), tag):
            text = source(cell)
            calls = CALL.findall(text)
            assert calls, f"{path.name}: a cell tagged {tag!r} never calls check(...)"
            found += [(name, fn, text) for name, fn in calls]
    return found


STUBS = _cells("exercise")
SOLUTIONS = _cells("solution")


def _define(text: str, fn_name: str):
    namespace: dict = {"check": lambda *args, **kwargs: None}
    exec(compile(text, "<notebook cell>", "exec"), namespace)
    return namespace[fn_name]


@pytest.mark.parametrize("name, fn_name, text", STUBS, ids=[s[0] for s in STUBS])
def test_checker_rejects_stub(name, fn_name, text) -> None:
    assert check(name, _define(text, fn_name), quiet=True) is False


@pytest.mark.parametrize(
    "name, fn_name, text", SOLUTIONS, ids=[s[0] for s in SOLUTIONS]
)
def test_checker_accepts_solution(name, fn_name, text) -> None:
    assert check(name, _define(text, fn_name), quiet=True) is True


def test_every_exercise_has_a_stub_and_a_solution_in_a_notebook() -> None:
    names = set(all_exercises())
    assert names, "no exercises registered"
    assert names == {s[0] for s in STUBS}, (
        "exercises without a stub cell (or vice versa)"
    )
    assert names == {s[0] for s in SOLUTIONS}, "exercises without a solution cell"


def test_check_reports_crashes_and_unknown_names(capsys) -> None:
    def crashes(logits):
        return logits.nonexistent()

    assert check("log_softmax", crashes) is False
    assert "AttributeError" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no exercise named 'nope'"):
        check("nope", crashes)
