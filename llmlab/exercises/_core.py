"""The exercise mechanism: a checker per exercise, instant feedback for learners.

A chapter poses an exercise as a stub function in a notebook cell tagged
``exercise``; the learner fills it in and calls ``check("name", fn)``. The checker
runs the function on cases whose right answers come from a trusted implementation
(usually PyTorch) and says what went wrong on the first failing case. The reference
solution sits in the next cell, tagged ``solution`` and hidden behind a toggle in the
rendered book.

A checker is a function decorated with ``@exercise("name")`` inside a chapter module
``llmlab/exercises/chNN.py``. It receives the learner's function and raises
``AssertionError`` with a helpful message on a wrong answer.
"""

from __future__ import annotations

import importlib
import pkgutil
import traceback
from dataclasses import dataclass
from typing import Callable

Checker = Callable[[Callable], None]


@dataclass(frozen=True)
class Exercise:
    name: str
    """Name the learner passes to ``check``; also the name of the function to write."""
    chapter: str
    """The chapter module that defines it, e.g. ``"ch00"``."""
    verify: Checker
    """Raises ``AssertionError`` with a message when the learner's function is wrong."""


def exercise(name: str) -> Callable[[Checker], Checker]:
    """Mark ``verify(fn)`` as the checker of exercise ``name``."""

    def mark(verify: Checker) -> Checker:
        verify.__exercise_name__ = name  # type: ignore[attr-defined]
        return verify

    return mark


def all_exercises() -> dict[str, Exercise]:
    """Every exercise in every chapter module, by name."""
    import llmlab.exercises as package

    found: dict[str, Exercise] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("ch"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for obj in vars(module).values():
            name = getattr(obj, "__exercise_name__", None)
            if name is None:
                continue
            if name in found:
                raise RuntimeError(f"exercise {name!r} is defined twice")
            found[name] = Exercise(name=name, chapter=info.name, verify=obj)
    return found


def check(name: str, fn: Callable, *, quiet: bool = False) -> bool:
    """Check the learner's ``fn`` against exercise ``name``; print feedback.

    Returns True when every case passes. Never raises for a wrong answer, so a
    notebook with an unfinished exercise still runs top to bottom.
    """
    exercises = all_exercises()
    if name not in exercises:
        known = ", ".join(sorted(exercises))
        raise KeyError(f"no exercise named {name!r}; known exercises: {known}")
    try:
        exercises[name].verify(fn)
    except NotImplementedError:
        message = (
            f"[{name}] not done yet: the function still raises NotImplementedError."
        )
        ok = False
    except AssertionError as failure:
        message = f"[{name}] not quite: {failure}"
        ok = False
    except Exception as error:  # the learner's code crashed: show where
        last = traceback.extract_tb(error.__traceback__)[-1]
        message = (
            f"[{name}] your function raised {type(error).__name__}: {error} "
            f"(line {last.lineno}: {last.line})"
        )
        ok = False
    else:
        message = f"[{name}] correct, every case passed."
        ok = True
    if not quiet:
        print(("✅ " if ok else "❌ ") + message)
    return ok
