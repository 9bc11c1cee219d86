"""Checkers for chapter 07, sampling."""

from __future__ import annotations

import math

import torch

from llmlab.exercises._core import exercise


@exercise("epsilon_filter")
def verify_epsilon_filter(fn) -> None:
    """``epsilon_filter(logits, epsilon)``: (B, V) -> (B, V), tokens whose probability
    is below ``epsilon`` set to -inf, the most likely token always kept, kept logits
    unchanged."""
    g = torch.Generator().manual_seed(7)
    cases = {
        "a hand case": (torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log(), 0.1),
        "random rows": (torch.randn(6, 30, generator=g) * 2, 0.03),
        "epsilon above every probability (keep the top token)": (
            torch.zeros(2, 5),
            0.5,
        ),
    }
    for label, (logits, eps) in cases.items():
        got = fn(logits.clone(), eps)
        probs = torch.softmax(logits, dim=-1)
        keep = probs >= eps
        keep[torch.arange(len(logits)), probs.argmax(-1)] = True
        want = logits.masked_fill(~keep, -math.inf)
        assert isinstance(got, torch.Tensor) and got.shape == logits.shape, (
            f"{label}: expected a tensor of shape {tuple(logits.shape)}"
        )
        assert torch.equal(torch.isfinite(got), keep), (
            f"{label}: kept {torch.isfinite(got).sum(-1).tolist()} tokens per row, "
            f"want {keep.sum(-1).tolist()}. Hint: compare softmax(logits) with "
            f"epsilon, and keep the arg max whatever happens."
        )
        assert torch.equal(got[keep], want[keep]), f"{label}: kept logits changed"


@exercise("gumbel_max_sample")
def verify_gumbel_max_sample(fn) -> None:
    """``gumbel_max_sample(logits, generator)``: (B, V) -> (B,) ids distributed as
    softmax(logits), drawn with the Gumbel-max trick."""
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.5])
    n = 20_000
    got = fn(logits.expand(n, -1).clone(), torch.Generator().manual_seed(0))
    assert isinstance(got, torch.Tensor) and got.shape == (n,), (
        f"expected ids of shape ({n},), got {getattr(got, 'shape', type(got))}"
    )
    counts = torch.bincount(got.long(), minlength=5).float()
    probs = torch.softmax(logits, -1)
    chi2 = float(((counts - n * probs) ** 2 / (n * probs)).sum())
    # chi-square, 4 degrees of freedom, significance 0.001: 18.467
    assert chi2 < 18.467, (
        f"frequencies {(counts / n).tolist()} do not match softmax "
        f"{probs.tolist()} (chi-square {chi2:.1f}). Hint: argmax(logits - "
        f"log(-log(u))) with u uniform in (0, 1)."
    )
    again = fn(logits.expand(n, -1).clone(), torch.Generator().manual_seed(0))
    assert torch.equal(got, again), "the same seed must give the same draws"


@exercise("temperature_for_entropy")
def verify_temperature_for_entropy(fn) -> None:
    """``temperature_for_entropy(logits, bits)``: the temperature T at which
    softmax(logits / T) has an entropy of ``bits`` (within 0.01 bits)."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(50, generator=g) * 3
    for bits in (0.5, 2.0, 4.0, 5.5):
        t = fn(logits.clone(), bits)
        assert isinstance(t, float) and t > 0, f"bits={bits}: expected a float > 0"
        p = torch.softmax(logits.double() / t, -1)
        entropy = float(-(p * p.clamp_min(1e-300).log2()).sum())
        assert abs(entropy - bits) < 0.01, (
            f"bits={bits}: softmax(logits / {t:.4f}) has entropy {entropy:.3f}. Hint: "
            f"entropy rises with T; bisect on log T."
        )
