"""check(): feedback in the learner's terms for hanging, crashing, garbage-returning
and input-mutating functions (issue 14, item 19)."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from llmlab.exercises import all_exercises, check


def _feedback(capsys, name, fn, **kwargs) -> tuple[bool, str]:
    ok = check(name, fn, **kwargs)
    return ok, capsys.readouterr().out


def test_a_hanging_function_times_out_with_a_clear_message(capsys) -> None:
    def log_softmax(logits):
        while True:
            try:
                pass
            except Exception:  # a learner's catch-all must not swallow the timeout
                pass

    start = time.perf_counter()
    ok, out = _feedback(capsys, "log_softmax", log_softmax, timeout=0.3)
    assert not ok and time.perf_counter() - start < 5
    assert "ran for more than 0.3 s" in out and "timeout=" in out


def test_timeout_off_the_main_thread(capsys) -> None:
    """Where no signal can interrupt, the checker is abandoned in a helper thread."""

    def log_softmax(logits):
        time.sleep(1.5)  # ends by itself, so the abandoned thread does not linger

    result = {}
    worker = threading.Thread(
        target=lambda: result.update(ok=check("log_softmax", log_softmax, timeout=0.2))
    )
    start = time.perf_counter()
    worker.start()
    worker.join(10)
    assert result == {"ok": False} and time.perf_counter() - start < 1.4
    assert "ran for more than 0.2 s" in capsys.readouterr().out


def test_the_alarm_is_restored(capsys) -> None:
    import signal

    before = signal.getsignal(signal.SIGALRM)
    check("log_softmax", lambda logits: torch.log_softmax(logits, -1), quiet=True)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *args: fired.append(1))
    try:  # an outer timer (pytest-timeout's, say) still fires afterwards
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        assert check(
            "log_softmax", lambda logits: torch.log_softmax(logits, -1), quiet=True
        )
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.5
        time.sleep(0.6)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


GARBAGE = {
    "None": None,
    "a float": 1.5,
    "a str": "text",
    "an empty list": [],
    "a dict": {"a": 1},
    "a NaN tensor": torch.tensor(float("nan")),
    "an object": object(),
}
CASES = [(name, label) for name in sorted(all_exercises()) for label in GARBAGE]


@pytest.mark.parametrize("name, label", CASES)
def test_garbage_returns_are_described_not_blamed_on_the_learner(
    capsys, name, label
) -> None:
    """The function did not raise, so feedback never says it did."""
    value = GARBAGE[label]
    ok, out = _feedback(capsys, name, lambda *args, **kwargs: value)
    assert not ok
    assert "your function raised" not in out, out
    assert out.startswith("❌ [") and "not quite" in out


def test_wrong_type_is_described(capsys) -> None:
    ok, out = _feedback(capsys, "neighbour_overlap", lambda a, b, ids, k: None)
    assert not ok and "your function returned None (is a `return` missing?)" in out


def test_nan_output_is_named(capsys) -> None:
    ok, out = _feedback(capsys, "log_softmax", lambda logits: logits * float("nan"))
    assert not ok and "contains NaN or inf" in out


def test_mutated_input_fails_naming_the_argument(capsys) -> None:
    def log_softmax(logits):  # right answer, but the caller's tensor is overwritten
        logits.sub_(logits.max(-1, keepdim=True).values)
        return logits - logits.exp().sum(-1, keepdim=True).log()

    ok, out = _feedback(capsys, "log_softmax", log_softmax)
    assert not ok and "changed its argument `logits` in place" in out

    def expand_ids(ids, merged_from):
        ids.append(0)
        return b""

    ok, out = _feedback(capsys, "expand_ids", expand_ids)
    assert not ok and "changed its argument `ids` in place" in out


def test_a_crash_points_at_the_learners_line(capsys) -> None:
    def helper(x):
        return x.no_such_method()

    def log_softmax(logits):
        return helper(logits)

    ok, out = _feedback(capsys, "log_softmax", log_softmax)
    assert not ok and "AttributeError" in out
    assert "return x.no_such_method()" in out  # the learner's line, not the checker's

    def log_softmax_asserting(logits):
        assert logits.ndim == 9, "my own check"

    ok, out = _feedback(capsys, "log_softmax", log_softmax_asserting)
    assert "your function raised AssertionError: my own check" in out


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5"])
def test_bad_timeout_is_refused(timeout) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        check("log_softmax", lambda logits: logits, timeout=timeout)
