"""Checkers for chapter 00, the whole machine on one page."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise


def _short(values: torch.Tensor) -> str:
    """The first few values of a tensor, rounded, for a feedback message."""
    flat = [round(v, 4) for v in values.flatten().tolist()]
    return str(flat) if len(flat) <= 8 else f"{str(flat[:6])[:-1]}, ... of {len(flat)}]"


def _log_softmax_cases() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "three logits": torch.tensor([1.0, 2.0, 3.0]),
        "all equal": torch.zeros(5),
        "a batch of rows (4, 7)": torch.randn(4, 7, generator=g),
        "a (2, 3, 5) batch": 3 * torch.randn(2, 3, 5, generator=g),
        "large logits (exp overflows float32 past 88)": torch.tensor(
            [1000.0, 999.0, 0.0]
        ),
        "very negative logits (exp underflows to 0)": torch.tensor([-1000.0, -1001.0]),
        "a gap of 200 (the small probability underflows to 0 in float32)": (
            torch.tensor([[0.0, -200.0, -5.0], [300.0, 0.0, 299.0]])
        ),
    }


@exercise("log_softmax")
def verify_log_softmax(fn) -> None:
    """``log_softmax(logits)``: log of the softmax over the last dimension, finite
    wherever the logits are, even where the probability underflows in float32."""
    for label, logits in _log_softmax_cases().items():
        got = fn(logits.clone())
        assert isinstance(got, torch.Tensor), (
            f"{label}: expected a tensor, got {type(got).__name__}"
        )
        want = torch.log_softmax(logits.double(), dim=-1)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)} (one "
            "log-probability per logit)"
        )
        assert torch.isfinite(got).all(), (
            f"{label}: got {_short(got)}, which is not finite. log(softmax(z)) "
            "overflows or underflows on the way; work in the log domain: "
            "log p_i = z_i - log(sum_j exp(z_j)), with the max logit subtracted "
            "inside the exp and added back outside the log."
        )
        assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-5), (
            f"{label}: got {_short(got)}, want {_short(want)}. The natural log "
            "(not log2) of the softmax over the last dimension; each row's "
            "exp(result) sums to 1."
        )


def _entropy_cases() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {
        "uniform over 4 tokens": torch.full((4,), 0.25),
        "certain: one token has all the probability": torch.tensor([0.0, 1.0, 0.0]),
        "two equal tokens and a zero": torch.tensor([0.5, 0.5, 0.0]),
        "a skewed distribution": torch.tensor([0.7, 0.2, 0.1]),
        "a batch of rows (3, 7) with zeros": torch.softmax(
            torch.randn(3, 7, generator=g), dim=-1
        )
        * torch.tensor([1.0, 1, 0, 1, 1, 0, 1]),
        "a (2, 2, 256) batch": torch.softmax(
            torch.randn(2, 2, 256, generator=g), dim=-1
        ),
    }


@exercise("entropy_bits")
def verify_entropy_bits(fn) -> None:
    """``entropy_bits(probs)``: -sum p log2 p over the last dimension, 0 log 0 = 0."""
    for label, probs in _entropy_cases().items():
        probs = probs / probs.sum(-1, keepdim=True)  # rows sum to 1
        got = fn(probs.clone())
        assert isinstance(got, torch.Tensor), (
            f"{label}: expected a tensor, got {type(got).__name__}"
        )
        p = probs.double()
        want = -(p * torch.where(p > 0, p.log2(), 0.0)).sum(-1)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)} (one "
            "number per distribution: sum over the last dimension only)"
        )
        assert torch.isfinite(got).all(), (
            f"{label}: got {got.tolist()}: not finite. A zero probability gives "
            "0 * log(0) = 0 * -inf = NaN in floating point; count it as 0 (it "
            "contributes nothing: the limit of p log p as p -> 0 is 0)."
        )
        assert torch.allclose(got.double(), want, atol=1e-4), (
            f"{label}: got {[round(v, 4) for v in got.flatten().tolist()]}, want "
            f"{[round(v, 4) for v in want.flatten().tolist()]}. Entropy in bits is "
            "-sum(p * log2(p)): log base 2, and a minus sign."
        )
