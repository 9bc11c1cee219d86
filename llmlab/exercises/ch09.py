"""Checkers for chapter 09, context: sink masks, whole-turn budgets, middle-out."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise


@exercise("sink_window_mask")
def verify_sink_window_mask(fn) -> None:
    """``sink_window_mask(T, window, sinks)``: (T, T) bool, query t sees key s when
    s <= t and (s < sinks or t - s < window)."""
    for T, window, sinks in [(1, 1, 1), (6, 3, 1), (10, 4, 2), (12, 12, 3), (9, 2, 0)]:
        label = f"T={T}, window={window}, sinks={sinks}"
        got = fn(T, window, sinks)
        assert isinstance(got, torch.Tensor), f"{label}: return a tensor"
        want = torch.zeros(T, T, dtype=torch.bool)
        for t in range(T):
            for s in range(t + 1):
                want[t, s] = s < sinks or t - s < window
        assert got.shape == want.shape, f"{label}: shape {tuple(got.shape)}"
        wrong = (got.bool() != want).nonzero()
        assert not len(wrong), (
            f"{label}: entry (query {int(wrong[0, 0])}, key {int(wrong[0, 1])}) is "
            f"{bool(got[tuple(wrong[0])])}. Hint: never a future key; the first "
            "`sinks` keys always; otherwise only the last `window` keys."
        )


def _drop_turns_oracle(turn_lengths: list[int], budget: int) -> list[int]:
    system, rest = turn_lengths[0], turn_lengths[1:]
    for start in range(len(rest)):
        if system + sum(rest[start:]) <= budget:
            return [0] + [1 + i for i in range(start, len(rest))]
    raise ValueError("does not fit")


@exercise("drop_turns")
def verify_drop_turns(fn) -> None:
    """``drop_turns(turn_lengths, budget)``: indices of the turns kept; turn 0 (the
    system message) always, then the newest whole turns that fit."""
    cases = [([5, 3, 4, 2], 100), ([5, 3, 4, 2], 11), ([5, 3, 4, 2], 7), ([10, 1], 11)]
    cases += [([3, 9, 9, 1, 1, 1], 8), ([2, 5, 1, 1, 5], 8)]
    for lengths, budget in cases:
        want = _drop_turns_oracle(lengths, budget)
        got = list(fn(list(lengths), budget))
        assert got == want, (
            f"turn_lengths={lengths}, budget={budget}: got {got}, want {want}. "
            "Hint: keep turn 0, then the longest run of newest turns that fits."
        )
    for lengths, budget in [([5, 3, 4, 8], 12), ([20, 1], 10)]:
        try:
            fn(list(lengths), budget)
        except ValueError:
            continue
        raise AssertionError(
            f"turn_lengths={lengths}, budget={budget}: the system message and the "
            "last turn do not fit; raise ValueError instead of returning"
        )


@exercise("middle_out")
def verify_middle_out(fn) -> None:
    """``middle_out(ids, limit)``: keep the first limit // 2 and the last
    limit - limit // 2 tokens; unchanged if it fits."""
    for n, limit in [(5, 10), (10, 10), (11, 10), (20, 7), (100, 1), (9, 2)]:
        ids = [100 + i for i in range(n)]
        head = limit // 2
        want = ids if n <= limit else ids[:head] + ids[n - (limit - head) :]
        got = list(fn(list(ids), limit))
        assert got == want, (
            f"{n} tokens, limit={limit}: got {got[:6]}... ({len(got)} tokens), want "
            f"{want[:6]}... ({len(want)} tokens)"
        )
