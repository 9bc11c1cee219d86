"""Checkers for chapter 14, reward modeling."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise


@exercise("preference_probability")
def verify_preference_probability(fn) -> None:
    """``preference_probability(r_a, r_b)``: Bradley–Terry P(a ≻ b), tensors (N,)."""
    cases = {
        "equal rewards": (torch.tensor([0.0, 3.0]), torch.tensor([0.0, 3.0])),
        "a ahead by 1": (torch.tensor([1.0]), torch.tensor([0.0])),
        "large gap (no overflow)": (torch.tensor([200.0, -200.0]), torch.zeros(2)),
    }
    for label, (a, b) in cases.items():
        got = fn(a.clone(), b.clone())
        want = torch.sigmoid(a - b)
        assert torch.isfinite(got).all(), f"{label}: got {got}"
        assert torch.allclose(got, want, atol=1e-6), f"{label}: got {got}, want {want}"


@exercise("margin_loss")
def verify_margin_loss(fn) -> None:
    """``margin_loss(chosen, rejected, margin)``: Llama 2's reward loss
    (arXiv:2307.09288), mean of −log σ(r_c − r_r − m); all (N,)."""
    g = torch.Generator().manual_seed(14)
    chosen, rejected = torch.randn(16, generator=g), torch.randn(16, generator=g)
    margin = torch.rand(16, generator=g) * 3
    got = fn(chosen.clone(), rejected.clone(), margin.clone())
    want = -F.logsigmoid(chosen - rejected - margin).mean()
    assert torch.allclose(got, want, atol=1e-5), f"got {got}, want {want}"
    zero = fn(chosen, rejected, torch.zeros(16))
    plain = -F.logsigmoid(chosen - rejected).mean()
    assert torch.allclose(zero, plain, atol=1e-5), "margin 0 must give Bradley–Terry"
    big = fn(torch.tensor([100.0]), torch.tensor([0.0]), torch.tensor([0.0]))
    assert math.isfinite(float(big)), "use logsigmoid: large margins must stay finite"


@exercise("best_of_n")
def verify_best_of_n(fn) -> None:
    """``best_of_n(scores, n)``: scores (G·n,) of n adjacent candidates per prompt ->
    (G,) index (into scores) of each group's highest-scoring candidate."""
    g = torch.Generator().manual_seed(15)
    for n in (2, 4):
        scores = torch.randn(5 * n, generator=g)
        want = scores.view(5, n).argmax(1) + torch.arange(5) * n
        got = fn(scores.clone(), n)
        assert torch.equal(torch.as_tensor(got).long(), want), (
            f"n={n}: got {got}, want {want} (indices into the flat scores)"
        )
