"""Attention cost: the peak-memory probe on known allocations, and the paths' shapes
of growth (quadratic table vs linear tiles) on small lengths."""

from __future__ import annotations

import pytest
import torch

from llmlab.context import attention_cost, peak_tensor_bytes
from llmlab.context.attention_cost import median_seconds


def test_peak_counts_live_tensors_only() -> None:
    assert peak_tensor_bytes(lambda: torch.zeros(1000)) == 4000

    def two_alive() -> torch.Tensor:
        a = torch.zeros(1000)
        b = torch.ones(1000)
        return a + b  # three buffers alive at once

    assert peak_tensor_bytes(two_alive) == 12_000

    def one_at_a_time() -> None:
        for _ in range(3):
            torch.zeros(1000)  # freed before the next one

    assert peak_tensor_bytes(one_at_a_time) == 4000
    x = torch.zeros(10_000)
    assert peak_tensor_bytes(lambda: x[:10]) == x.nbytes  # a view of an outside input


def test_reference_is_quadratic_and_tiles_are_linear() -> None:
    g = torch.Generator().manual_seed(0)
    small = {
        p: attention_cost(p, 128, block_size=32, repeats=1, generator=g)
        for p in ("reference", "flash")
    }
    large = {
        p: attention_cost(p, 256, block_size=32, repeats=1, generator=g)
        for p in ("reference", "flash")
    }
    assert large["reference"]["peak_bytes"] >= large["reference"]["scores_bytes"]
    assert large["reference"]["peak_bytes"] / small["reference"]["peak_bytes"] > 3.5
    assert large["flash"]["peak_bytes"] / small["flash"]["peak_bytes"] < 2.5
    assert large["flash"]["seconds"] > 0


def test_median_seconds_rejects_no_repeats() -> None:
    with pytest.raises(ValueError, match="repeats=0"):
        median_seconds(lambda: None, repeats=0)
