"""Checkers for chapter 00, the whole machine on one page."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise


@exercise("softmax")
def verify_softmax(fn) -> None:
    """``softmax(logits)`` over the last dimension, stable for large logits."""
    cases = {
        "three logits": torch.tensor([1.0, 2.0, 3.0]),
        "all equal": torch.zeros(5),
        "a batch of rows": torch.randn(
            4, 7, generator=torch.Generator().manual_seed(0)
        ),
        "large logits (exp overflows float32 past 88)": torch.tensor(
            [1000.0, 999.0, 0.0]
        ),
        "very negative logits": torch.tensor([-1000.0, -1001.0]),
    }
    for label, logits in cases.items():
        got = fn(logits.clone())
        assert isinstance(got, torch.Tensor), (
            f"{label}: expected a tensor, got {type(got)}"
        )
        want = torch.softmax(logits, dim=-1)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)}"
        )
        assert torch.isfinite(got).all(), (
            f"{label}: got {got.tolist()}, which is not finite. "
            "Hint: subtracting the max logit first changes nothing mathematically."
        )
        assert torch.allclose(got, want, atol=1e-6), (
            f"{label}: got {got.tolist()}, want {want.tolist()}"
        )


@exercise("greedy_next_token")
def verify_greedy_next_token(fn) -> None:
    """``greedy_next_token(logits)``: the most likely next id, from (T, V) logits."""
    g = torch.Generator().manual_seed(1)
    for T, V in [(1, 5), (4, 11), (7, 300)]:
        logits = torch.randn(T, V, generator=g)
        want = int(logits[-1].argmax())
        got = fn(logits.clone())
        assert isinstance(got, int), (
            f"(T={T}, V={V}): expected a Python int, got {type(got).__name__}"
        )
        assert got == want, (
            f"(T={T}, V={V}): got {got}, want {want}. "
            "Only the last position predicts the *next* token."
        )
