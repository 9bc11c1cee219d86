from __future__ import annotations

import math

import pytest

from llmlab.train.schedule import lr_at

KW = dict(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)


def test_warmup_starts_small_and_ends_at_peak() -> None:
    assert lr_at(0, **KW) == pytest.approx(0.1)
    assert lr_at(4, **KW) == pytest.approx(0.5)
    assert lr_at(9, **KW) == pytest.approx(1.0)
    assert lr_at(10, **KW) == pytest.approx(1.0)  # cosine starts at the peak


def test_cosine_midpoint_is_halfway_between_peak_and_floor() -> None:
    assert lr_at(60, **KW) == pytest.approx((1.0 + 0.1) / 2)
    quarter = 0.1 + 0.45 * (1 + math.cos(math.pi / 4))
    assert lr_at(35, **KW) == pytest.approx(quarter)


def test_past_the_end_stays_at_the_floor() -> None:
    assert lr_at(110, **KW) == pytest.approx(0.1)
    assert lr_at(10_000, **KW) == pytest.approx(0.1)


def test_decreasing_after_warmup() -> None:
    values = [lr_at(s, **KW) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_no_warmup_and_negative_step() -> None:
    assert lr_at(0, lr=1.0, min_lr=0.0, warmup_steps=0, max_steps=10) == 1.0
    with pytest.raises(ValueError, match="step=-1"):
        lr_at(-1, **KW)
