"""Sampling: turning the model's logits for the next token into a token id.

Every function here is a pure function of a (B, V) tensor of logits; randomness
enters only through an explicit ``torch.Generator``. ``SamplingConfig`` names a
strategy, and ``sample`` applies its steps in this fixed order:

1. repetition penalty on the raw logits (tokens already in the sequence);
2. temperature (0 means greedy: take the arg max, nothing below applies);
3. top-k: keep the k largest logits;
4. top-p (nucleus): keep the smallest set of tokens whose probability sums to ≥ p;
5. min-p: keep tokens whose probability is ≥ min_p times the top probability;
6. softmax over what is left, then one draw per row.

Filters 3–5 act on the distribution left by the previous step (so top-p measures
mass after top-k), and a filter never removes the most likely token, so at least
one token always survives.

Differs from the papers in: the repetition penalty is CTRL's (Keskar et al. 2019,
arXiv:1909.05858: positive logits divided by the penalty, negative ones
multiplied); nucleus sampling is Holtzman et al. 2019 (arXiv:1904.09751); min-p is
Nguyen et al. 2024 (arXiv:2407.01082).

Taught in: chapters/07_sampling.ipynb
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 1.0
    """Divide logits by this; 0 means greedy (always the most likely token)."""
    top_k: int | None = None
    """Keep only the k most likely tokens; None keeps all."""
    top_p: float | None = None
    """Keep the smallest set of tokens with probability mass ≥ top_p; in (0, 1]."""
    min_p: float | None = None
    """Drop tokens less likely than min_p × the most likely one; in (0, 1]."""
    repetition_penalty: float = 1.0
    """> 1 makes tokens already in the sequence less likely; 1 turns it off."""

    def __post_init__(self) -> None:
        t = self.temperature
        if not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise ValueError(f"temperature={t!r} must be a finite number >= 0")
        if self.top_k is not None and (
            isinstance(self.top_k, bool)
            or not isinstance(self.top_k, int)
            or self.top_k < 1
        ):
            raise ValueError(f"top_k={self.top_k!r} must be an int >= 1 or None")
        for name in ("top_p", "min_p"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, (int, float)) and 0 < value <= 1
            ):
                raise ValueError(f"{name}={value!r} must be in (0, 1] or None")
        r = self.repetition_penalty
        if not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0:
            raise ValueError(f"repetition_penalty={r!r} must be a finite number > 0")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


GREEDY = SamplingConfig(temperature=0.0)


def check_logits(logits: torch.Tensor) -> None:
    """Raise if ``logits`` (B, V) is not a 2-D float tensor of finite values."""
    if logits.dim() != 2 or not logits.is_floating_point():
        raise ValueError(
            f"logits must be a (B, V) float tensor, got {logits.dtype} "
            f"of shape {tuple(logits.shape)}"
        )
    bad = ~torch.isfinite(logits)
    if bad.any():
        row, col = (int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"logits must be finite, got {logits[row, col].item()} at row {row}, "
            f"token {col}"
        )


def repetition_penalty(
    logits: torch.Tensor, previous: torch.Tensor, penalty: float
) -> torch.Tensor:
    """Penalise tokens that appear in ``previous`` (B, S) int64 (ids < 0 ignored).

    logits (B, V) -> (B, V). ``[2.0, -1.0]`` with token 0 and 1 seen, penalty 2
    -> ``[1.0, -2.0]``: either way the token becomes less likely.
    """
    if penalty == 1 or previous.numel() == 0:
        return logits
    B, V = logits.shape
    slots = torch.where(previous >= 0, previous, V)  # padding -> an extra column
    seen = torch.zeros(B, V + 1, dtype=torch.bool, device=logits.device)
    seen = seen.scatter(1, slots, True)[:, :V]  # (B, V)
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep exactly the k largest logits of each row (ties broken by ``torch.topk``),
    set the rest to -inf. (B, V) -> (B, V)."""
    k = min(k, logits.shape[-1])
    values, indices = torch.topk(logits, k, dim=-1)  # (B, k)
    out = torch.full_like(logits, -math.inf)
    return out.scatter(-1, indices, values)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability sums to ≥ p.

    Tokens are ranked by probability, equal probabilities by lower id first (a
    stable sort), and a token is kept when the mass ranked above it is < p; so a
    tie at the boundary keeps the lower ids, and exactly as many tokens as needed.
    ``softmax = [0.5, 0.3, 0.2]``, p = 0.8 -> tokens 0 and 1 kept.
    """
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # (B, V)
    keep_sorted = mass_before < p
    keep_sorted[:, 0] = True  # the top token always survives
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, -math.inf)


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep tokens with probability ≥ min_p × the row's largest probability.

    In logits: logit ≥ max logit + log(min_p). ``softmax = [0.6, 0.3, 0.1]``,
    min_p = 0.25 -> tokens 0 and 1 kept (0.1 < 0.25 × 0.6).
    """
    threshold = logits.max(dim=-1, keepdim=True).values + math.log(min_p)
    return logits.masked_fill(logits < threshold, -math.inf)


def filtered_logits(
    logits: torch.Tensor,
    config: SamplingConfig,
    previous: torch.Tensor | None = None,
) -> torch.Tensor:
    """Steps 1–5 of the module docstring (temperature > 0): (B, V) -> (B, V) logits
    with every removed token at -inf."""
    check_logits(logits)
    if config.greedy:
        raise ValueError("temperature=0 is greedy: there is no distribution to filter")
    if previous is not None:
        logits = repetition_penalty(logits, previous, config.repetition_penalty)
    logits = logits.float() / config.temperature
    if config.top_k is not None:
        logits = top_k_filter(logits, config.top_k)
    if config.top_p is not None:
        logits = top_p_filter(logits, config.top_p)
    if config.min_p is not None:
        logits = min_p_filter(logits, config.min_p)
    return logits


def filtered_probs(
    logits: torch.Tensor,
    config: SamplingConfig,
    previous: torch.Tensor | None = None,
) -> torch.Tensor:
    """The distribution ``sample`` draws from: (B, V) logits -> (B, V) probabilities.

    With temperature 0 it is one-hot on the arg max."""
    if config.greedy:
        check_logits(logits)
        if previous is not None:
            logits = repetition_penalty(logits, previous, config.repetition_penalty)
        one_hot = torch.zeros_like(logits, dtype=torch.float32)
        return one_hot.scatter(-1, logits.argmax(dim=-1, keepdim=True), 1.0)
    return torch.softmax(filtered_logits(logits, config, previous), dim=-1)


def sample(
    logits: torch.Tensor,
    config: SamplingConfig,
    *,
    generator: torch.Generator | None = None,
    previous: torch.Tensor | None = None,
) -> torch.Tensor:
    """One token per row: logits (B, V) -> ids (B,) int64.

    ``previous`` (B, S) int64: the ids so far (-1 = padding), for the repetition
    penalty. Greedy draws nothing from ``generator``; otherwise exactly one
    ``torch.multinomial`` call on the (B, V) probabilities.
    """
    if config.greedy:
        check_logits(logits)
        if previous is not None:
            logits = repetition_penalty(logits, previous, config.repetition_penalty)
        return logits.argmax(dim=-1)
    probs = filtered_probs(logits, config, previous)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (B,)
