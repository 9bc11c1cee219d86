"""Window policies on constructed sequences: which tokens each keeps, and errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from llmlab.context import (
    AttentionSinks,
    ContextOverflowError,
    DropOldest,
    Refuse,
    SlidingWindow,
    check_fits,
    fit_to_window,
)


def test_overflow_error_says_how_many_tokens_over() -> None:
    with pytest.raises(
        ContextOverflowError, match="80 tokens .* window of 64: 16 tokens over"
    ):
        check_fits(80, 64)
    try:
        fit_to_window(list(range(70)), 64)
    except ContextOverflowError as error:
        assert (error.length, error.limit, error.over) == (70, 64, 6)
    check_fits(64, 64)  # exactly full is fine


def test_each_policy_on_a_constructed_sequence() -> None:
    ids = list(range(100, 110))  # ten tokens, values != indices
    assert fit_to_window(ids, 6, DropOldest(chunk=3)) == [106, 107, 108, 109]
    assert fit_to_window(ids, 6, DropOldest()) == ids[4:]
    assert fit_to_window(ids, 6, SlidingWindow(4)) == ids[6:]
    assert fit_to_window(ids, 6, SlidingWindow()) == ids[4:]
    assert fit_to_window(ids, 5, AttentionSinks(sinks=2)) == [100, 101, 107, 108, 109]
    assert fit_to_window(ids, 20, AttentionSinks(sinks=2, window=4)) == [
        100,
        101,
        108,
        109,
    ]
    assert fit_to_window(ids, 20, Refuse()) == ids


def test_policies_on_tensors_keep_every_row() -> None:
    ids = torch.arange(20).view(2, 10)
    kept = fit_to_window(ids, 5, AttentionSinks(sinks=1))
    assert kept.tolist() == [[0, 6, 7, 8, 9], [10, 16, 17, 18, 19]]


@given(
    length=st.integers(0, 200),
    limit=st.integers(1, 64),
    sinks=st.integers(1, 8),
    chunk=st.integers(1, 16),
)
def test_policies_always_fit_and_keep_order(length, limit, sinks, chunk) -> None:
    policies = [DropOldest(chunk), SlidingWindow()]
    if limit > sinks:
        policies.append(AttentionSinks(sinks=sinks))
    for policy in policies:
        kept = policy.kept(length, limit)
        assert len(kept) <= limit
        assert kept == sorted(set(kept)) and all(0 <= i < length for i in kept)
        assert kept[-1:] == ([length - 1] if length else [])  # newest always kept
        if length <= limit:
            assert kept == list(range(length))  # nothing dropped when it fits


def test_bad_policy_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="window=2 must exceed sinks=4"):
        AttentionSinks(sinks=4, window=2)
    with pytest.raises(ValueError, match="chunk=0"):
        DropOldest(chunk=0)
    with pytest.raises(ValueError, match="leaves no room"):
        AttentionSinks(sinks=4).kept(10, 4)
    with pytest.raises(ValueError, match="limit=0"):
        SlidingWindow().kept(3, 0)
