"""Checkers for chapter 11, what context is not: forgetting distance, previous-token
heads, the break-even point of a fine-tune."""

from __future__ import annotations

import math

import torch

from llmlab.exercises._core import exercise


@exercise("forgetting_distance")
def verify_forgetting_distance(fn) -> None:
    """First distance with accuracy <= chance + margin, else None."""
    cases = [
        ([0, 8, 16, 24, 32], [0.9, 0.8, 0.5, 0.05, 0.04], 0.04, 0.05, 24),
        ([1, 2, 3], [0.9, 0.9, 0.9], 0.1, 0.05, None),
        ([5, 10], [0.12, 0.9], 0.1, 0.05, 5),
        ([5, 10, 20], [0.5, 0.2, 0.01], 0.1, 0.2, 10),
    ]
    for distances, accuracies, chance, margin, want in cases:
        got = fn(list(distances), list(accuracies), chance, margin)
        assert got == want, (
            f"distances={distances}, accuracies={accuracies}, chance={chance}, "
            f"margin={margin}: got {got}, want {want}"
        )


@exercise("previous_token_score")
def verify_previous_token_score(fn) -> None:
    """Per head, mean weight on key t - 1 over queries t >= 1: (N, H, T, T) -> (H,)."""
    g = torch.Generator().manual_seed(0)
    for N, H, T in [(1, 1, 2), (2, 3, 5), (4, 8, 16)]:
        scores = torch.randn(N, H, T, T, generator=g)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        weights = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        want = torch.zeros(H)
        for h in range(H):  # the plain loop
            total = sum(weights[n, h, t, t - 1] for n in range(N) for t in range(1, T))
            want[h] = total / (N * (T - 1))
        got = torch.as_tensor(fn(weights.clone()))
        assert got.shape == (H,), f"N={N}, H={H}, T={T}: shape {tuple(got.shape)}"
        assert torch.allclose(got.float(), want, atol=1e-5), (
            f"N={N}, H={H}, T={T}: got {got.tolist()}, want {want.tolist()}"
        )


@exercise("break_even_queries")
def verify_break_even_queries(fn) -> None:
    """Smallest q with q * fact_tokens > train_tokens * train_factor."""
    for fact, train, factor in [(3, 40_960, 3.0), (10, 100, 1.0), (7, 1000, 2.5)]:
        want = math.floor(train * factor / fact) + 1
        got = fn(fact, train, factor)
        assert got == want, (
            f"fact_tokens={fact}, train_tokens={train}, train_factor={factor}: got "
            f"{got}, want {want}. Hint: at the answer, prompt tokens first exceed "
            "the fine-tune's cost; one query fewer, they do not."
        )
