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

A conceptual question is checked the same way, with ``@question("name")``: the learner
passes a value (``check("name", answer)`` with ``answer = "b"``) instead of a function,
and the checker explains why a wrong choice is wrong.

``check`` watches the learner's function while the checker runs it, so feedback is
about the learner's code, whatever happens:

- a function that never returns is stopped after ``timeout`` seconds (a ``SIGALRM``
  timer on the main thread, restored afterwards; elsewhere the checker runs in a
  helper thread that is abandoned when time is up);
- a function that raises is reported with the line of *its* code that raised;
- a return value the checker can not even compare (a list for a tensor, a wrong
  shape) is described (type, shape, dtype, NaN) instead of blaming the checker's line;
- a function that changes its arguments in place fails, naming the argument.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import pkgutil
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable

Checker = Callable[[Callable], None]

DEFAULT_TIMEOUT = 30.0
"""Seconds a checker may run the learner's function before it is stopped."""


class CheckTimeout(BaseException):
    """Raised into a learner's function that runs too long. A ``BaseException``, so
    that an ``except Exception`` in the learner's code does not swallow it."""


@dataclass(frozen=True)
class Exercise:
    name: str
    """Name the learner passes to ``check``; also the name of the function to write."""
    chapter: str
    """The chapter module that defines it, e.g. ``"ch00"``."""
    verify: Checker
    """Raises ``AssertionError`` with a message when the learner's function is wrong."""
    takes_value: bool = False
    """A question: ``check`` hands the learner's answer (a value) to ``verify``."""


def exercise(name: str) -> Callable[[Checker], Checker]:
    """Mark ``verify(fn)`` as the checker of exercise ``name``."""

    def mark(verify: Checker) -> Checker:
        verify.__exercise_name__ = name  # type: ignore[attr-defined]
        return verify

    return mark


def question(name: str) -> Callable[[Checker], Checker]:
    """Mark ``verify(answer)`` as the checker of conceptual question ``name``: the
    learner's answer is a value (a letter, a number), not a function."""

    def mark(verify: Checker) -> Checker:
        verify.__exercise_name__ = name  # type: ignore[attr-defined]
        verify.__takes_value__ = True  # type: ignore[attr-defined]
        return verify

    return mark


def multiple_choice(answer, right: str, why_not: dict[str, str]) -> None:
    """Check a one-letter ``answer`` (case and spaces ignored) against ``right``;
    a wrong letter fails with its own explanation from ``why_not``."""
    letters = sorted({right, *why_not})
    choice = str(answer).strip().lower()
    assert choice in letters, (
        f"answer with one letter, {', '.join(letters[:-1])} or {letters[-1]} "
        f"(got {answer!r})"
    )
    assert choice == right, why_not[choice]


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
            takes_value = getattr(obj, "__takes_value__", False)
            found[name] = Exercise(name, info.name, obj, takes_value)
    return found


# ------------------------------------------------------------ describing values
def _has_nan(value) -> bool:
    """True if ``value`` (a tensor, array, float or a list of them) holds NaN/inf."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v) for v in value[:1000])
    kind = str(getattr(value, "dtype", ""))
    if hasattr(value, "isfinite") and "float" in kind:  # torch
        return not bool(value.isfinite().all())
    if type(value).__module__ == "numpy" and "float" in kind:
        import numpy

        return not bool(numpy.isfinite(value).all())
    return False


def describe(value) -> str:
    """What a value is, in a learner's terms: ``a tensor of shape (2, 3), float32``."""
    if value is None:
        return "None (is a `return` missing?)"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "tensor" if type(value).__module__.startswith("torch") else "array"
        text = f"a {kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    elif isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value})
        text = f"a {type(value).__name__} of {len(value)} items ({', '.join(kinds)})"
    else:
        text = f"a {type(value).__name__} ({str(value)[:40]})"
    return text + (" containing NaN or inf" if _has_nan(value) else "")


# ---------------------------------------------------------- watching the learner
def _same(a, b) -> bool:
    """Equal values, NaN equal to NaN; for telling whether an argument changed."""
    if hasattr(a, "dtype") and hasattr(a, "shape"):
        if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        if "float" in str(a.dtype) or "complex" in str(a.dtype):
            return bool(((a == b) | ((a != a) & (b != b))).all())
        return bool((a == b).all())
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # an object without a usable ==: treat as unchanged
        return True


def _snapshot(value):
    """A copy of ``value`` to compare after the call, or None for objects (models,
    optimizers) that a function may be meant to change."""
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.detach().clone()
    if isinstance(value, (list, tuple, dict, set, bytearray)) or hasattr(value, "copy"):
        try:
            return copy.deepcopy(value)
        except Exception:
            return None
    return None


class _Watched:
    """The learner's function as the checker sees it: calls are observed, errors it
    raises are marked as the learner's, and changed arguments fail the check."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.result = None
        self.__wrapped__ = fn  # so inspect.signature sees the learner's signature

    def _names(self, args: tuple, kwargs: dict) -> list[tuple[str, object]]:
        try:
            bound = inspect.signature(self.fn).bind(*args, **kwargs)
            return list(bound.arguments.items())
        except (TypeError, ValueError):
            return [(f"#{i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())

    def __call__(self, *args, **kwargs):
        named = self._names(args, kwargs)
        before = [(name, value, _snapshot(value)) for name, value in named]
        try:
            self.result = self.fn(*args, **kwargs)
        except Exception as error:
            try:
                error.__learner__ = True  # type: ignore[attr-defined]
            except AttributeError:  # an exception type without attributes
                pass
            raise
        for name, value, copy_ in before:
            if copy_ is not None and not _same(value, copy_):
                raise AssertionError(
                    f"your function changed its argument `{name}` in place. Leave "
                    "inputs as they are: work on a copy (x = x.clone()) or use "
                    "out-of-place operations (x * 2, not x.mul_(2))."
                )
        return self.result


def _learner_line(error: BaseException, fn: Callable) -> str:
    """``line N: code`` of the deepest frame in the learner's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    filename = getattr(getattr(fn, "__code__", None), "co_filename", None)
    own = [f for f in frames if f.filename == filename] or frames[-1:]
    return f"line {own[-1].lineno}: {own[-1].line}" if own else "no line"


def _run_with_deadline(verify: Checker, fn: Callable, seconds: float) -> None:
    """``verify(fn)``, raising :class:`CheckTimeout` after ``seconds``."""
    on_main = threading.current_thread() is threading.main_thread()
    if on_main and hasattr(signal, "setitimer"):

        def alarm(signum, frame):
            raise CheckTimeout()

        previous = signal.signal(signal.SIGALRM, alarm)
        outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
        start = time.monotonic()
        try:
            verify(fn)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous or signal.SIG_DFL)
            if outer:  # someone else's timer (e.g. pytest-timeout) keeps running
                left = outer - (time.monotonic() - start)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
        return
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            verify(fn)
        except BaseException as error:  # handed to the caller's thread below
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CheckTimeout()
    if outcome:
        raise outcome[0]


def _feedback(name: str, error: BaseException, watched: _Watched, timeout: float):
    """The message for a check that did not pass."""
    if isinstance(error, CheckTimeout):
        return (
            f"[{name}] gave up: your function ran for more than {timeout:g} s. Look "
            "for a loop that never ends (a while whose condition never changes), or "
            f"pass a longer timeout: check({name!r}, fn, timeout=...)."
        )
    learner = getattr(error, "__learner__", False)
    if learner and isinstance(error, NotImplementedError):
        return f"[{name}] not done yet: the function still raises NotImplementedError."
    if learner:
        return (
            f"[{name}] your function raised {type(error).__name__}: {error} "
            f"({_learner_line(error, watched.fn)})"
        )
    if isinstance(error, AssertionError):
        nan = _has_nan(watched.result)
        hint = " (Your function's output contains NaN or inf.)" if nan else ""
        return f"[{name}] not quite: {error}{hint}"
    return (  # the checker could not use what the function returned
        f"[{name}] not quite: your function returned {describe(watched.result)}, "
        f"which is not what the exercise asks for (comparing it with the right "
        f"answer failed: {type(error).__name__}: {error})"
    )


def check(
    name: str, fn: Callable, *, quiet: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    """Check the learner's ``fn`` against exercise ``name``; print feedback. For a
    question, ``fn`` is the learner's answer (a value, not a function).

    Returns True when every case passes. Never raises for a wrong, crashing or
    hanging function (stopped after ``timeout`` seconds), so a notebook with an
    unfinished exercise still runs top to bottom.
    """
    exercises = all_exercises()
    if name not in exercises:
        known = ", ".join(sorted(exercises))
        raise KeyError(f"no exercise named {name!r}; known exercises: {known}")
    if exercises[name].takes_value:
        return _check_answer(name, exercises[name].verify, fn, quiet=quiet)
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): fn must be a function, got {fn!r:.60}")
    if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    watched = _Watched(fn)
    try:
        _run_with_deadline(exercises[name].verify, watched, timeout)
    except (Exception, CheckTimeout) as error:
        message, ok = _feedback(name, error, watched, timeout), False
    else:
        message, ok = f"[{name}] correct, every case passed.", True
    if not quiet:
        print(("✅ " if ok else "❌ ") + message)
    return ok


def _check_answer(name: str, verify: Checker, answer, *, quiet: bool) -> bool:
    """``check`` for a question: the answer is a value; feedback says why."""
    try:
        if answer is None or answer is Ellipsis:
            raise AssertionError(
                "not answered yet: set the answer to one of the choices."
            )
        verify(answer)
    except AssertionError as error:
        message, ok = f"[{name}] not quite: {error}", False
    else:
        message, ok = f"[{name}] correct.", True
    if not quiet:
        print(("✅ " if ok else "❌ ") + message)
    return ok
