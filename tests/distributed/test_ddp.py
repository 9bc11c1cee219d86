"""Buckets of the written-out DDP (its parity with one process and with torch DDP
is in test_parity.py, its traffic in test_comm_counter.py)."""

from __future__ import annotations

import torch

from llmlab.distributed.ddp import _make_buckets


def test_buckets_fill_up_to_the_cap_in_the_given_order():
    params = [torch.zeros(n) for n in (10, 10, 30, 5, 5)]  # 40, 40, 120, 20, 20 bytes
    buckets = _make_buckets(params, cap_bytes=80)
    assert [[p.numel() for p in b] for b in buckets] == [[10, 10], [30], [5, 5]]
    flat = [p for b in buckets for p in b]
    assert all(a is b for a, b in zip(flat, params))  # nothing lost or reordered
