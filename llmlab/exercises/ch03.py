"""Checkers for chapter 03, attention.

Right answers come from PyTorch's ``F.scaled_dot_product_attention``: scores and
weights are checked through what they do to random values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@exercise("scaled_scores")
def verify_scaled_scores(fn) -> None:
    """``scaled_scores(q, k)``: q (..., T, Dh), k (..., S, Dh) -> (..., T, S)."""
    q = torch.tensor([[1.0, 2.0, 0.0, 0.0]])
    k = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 2.0]])
    got = fn(q, k)
    want = torch.tensor([[1.5, 0.0]])  # (1 + 2) / √4 and 0 / √4
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got)}"
    assert got.shape == want.shape, f"hand case: shape {tuple(got.shape)}, want (1, 2)"
    assert torch.allclose(got, want), (
        f"hand case: got {got.tolist()}, want {want.tolist()}. "
        "Did you divide by √d_k (here √4 = 2)?"
    )
    for seed, shape in enumerate([(5, 8), (2, 3, 7, 16), (1, 4, 6, 64)]):
        q, k, v = (_randn(*shape, seed=10 * seed + i) for i in range(3))
        scores = fn(q.clone(), k.clone())
        want_shape = (*shape[:-1], shape[-2])
        assert tuple(scores.shape) == want_shape, (
            f"q of shape {shape}: scores shape {tuple(scores.shape)}, want {want_shape}"
        )
        mixed = scores.softmax(dim=-1) @ v
        oracle = F.scaled_dot_product_attention(q, k, v)
        assert torch.allclose(mixed, oracle, atol=1e-5), (
            f"q of shape {shape}: softmax(your scores) @ v differs from PyTorch's "
            "attention; check the transpose of k and the scale."
        )


@exercise("sliding_window_weights")
def verify_sliding_window_weights(fn) -> None:
    """``sliding_window_weights(scores, window)``: (..., T, T) scores -> weights where
    query i attends to keys i - window + 1 ... i only."""
    got = fn(torch.zeros(4, 4), 2)
    want = torch.tensor(
        [[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.5, 0.5]]
    )
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got)}"
    assert torch.allclose(got, want, atol=1e-6), (
        f"all-zero scores, window 2: got {got.tolist()}, want {want.tolist()}. Row i "
        "should spread evenly over tokens i-1 and i only."
    )
    for seed, (shape, window) in enumerate(
        [((6, 6), 1), ((2, 3, 9, 9), 4), ((1, 2, 5, 5), 10)]
    ):
        q, k, v = (_randn(*shape[:-1], 8, seed=seed + i) for i in range(3))
        scores = q @ k.transpose(-2, -1) / math.sqrt(8)
        weights = fn(scores.clone(), window)
        label = f"scores {tuple(scores.shape)}, window {window}"
        assert weights.shape == scores.shape, f"{label}: shape {tuple(weights.shape)}"
        assert torch.isfinite(weights).all(), (
            f"{label}: nan or inf; mask with -inf *before* the softmax, not after"
        )
        T = shape[-1]
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        allowed = (j <= i) & (i - j < window)  # (T, T), True = may attend
        oracle = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        assert torch.allclose(weights @ v, oracle, atol=1e-5), (
            f"{label}: weights @ v differs from PyTorch's attention with that mask. "
            "Forbid the future (j > i) *and* keys too far back (i - j >= window)."
        )


@exercise("grouped_query_attention")
def verify_grouped_query_attention(fn) -> None:
    """``grouped_query_attention(q, k, v)``: causal attention with q (B, H, T, Dh) and
    k, v (B, K, T, Dh), query head h reading key/value head h // (H // K)."""
    for seed, (B, H, K, T, Dh) in enumerate(
        [(1, 2, 2, 3, 4), (2, 4, 1, 5, 8), (1, 8, 2, 7, 16), (2, 6, 3, 4, 8)]
    ):
        q = _randn(B, H, T, Dh, seed=3 * seed)
        k = _randn(B, K, T, Dh, seed=3 * seed + 1)
        v = _randn(B, K, T, Dh, seed=3 * seed + 2)
        group = H // K
        want = F.scaled_dot_product_attention(
            q,
            k.repeat_interleave(group, dim=1),
            v.repeat_interleave(group, dim=1),
            is_causal=True,
        )
        got = fn(q.clone(), k.clone(), v.clone())
        label = f"(B={B}, H={H}, K={K}, T={T}, Dh={Dh})"
        assert isinstance(got, torch.Tensor), f"{label}: expected a tensor"
        assert got.shape == (B, H, T, Dh), (
            f"{label}: shape {tuple(got.shape)}, want {(B, H, T, Dh)}"
        )
        assert torch.allclose(got, want, atol=1e-5), (
            f"{label}: output differs from PyTorch's attention with each key/value "
            "head shared by a group of consecutive query heads (heads 0..g-1 read "
            "key head 0). repeat_interleave, not repeat, gives that order."
        )
