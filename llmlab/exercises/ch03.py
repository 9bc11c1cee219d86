"""Checkers for chapter 03, attention.

Right answers come from PyTorch's ``F.scaled_dot_product_attention`` (weights are
checked through what they do to random values) and, for ``future_dependence``,
from the mask each test layer was built with.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise
from llmlab.model import AttentionMask, CausalSelfAttention, GPTConfig


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _layer(mask: AttentionMask, seed: int) -> torch.nn.Module:
    config = GPTConfig(
        vocab_size=8, d_model=16, n_heads=2, n_layers=1, d_ff=32,
        context_length=16, position="none",
    )  # fmt: skip
    torch.manual_seed(seed)
    layer = CausalSelfAttention(config).eval()
    layer.mask = mask
    return layer


@exercise("future_dependence")
def verify_future_dependence(fn) -> None:
    """``future_dependence(layer, T, D)``: (T, T) bool, output i depends on input j."""
    i, j = torch.arange(10)[:, None], torch.arange(10)[None, :]
    cases = {
        "a causal layer (the mask on)": (
            _layer(AttentionMask(), seed=0), j <= i
        ),
        "the same layer with the causal mask removed": (
            _layer(AttentionMask(causal=False), seed=1), torch.ones(10, 10, dtype=bool)
        ),
        "a sliding window of 3": (
            _layer(AttentionMask(window=3), seed=2), (j <= i) & (i - j < 3)
        ),
        "a position-wise layer (no attention at all)": (
            torch.nn.Linear(16, 16), i == j
        ),
    }  # fmt: skip
    for label, (layer, want) in cases.items():
        got = fn(layer, 10, 16)
        assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {got!r}"
        assert got.shape == (10, 10) and got.dtype == torch.bool, (
            f"{label}: got {tuple(got.shape)} {got.dtype}, want a (T, T) bool tensor"
        )
        wrong = (got != want).nonzero()
        if len(wrong):
            a, b = wrong[0].tolist()
            raise AssertionError(
                f"{label}: entry [{a}, {b}] is {bool(got[a, b])}, want "
                f"{bool(want[a, b])}. Change input position {b} only and see whether "
                f"output position {a} moves."
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
