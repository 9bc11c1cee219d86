"""Log-probabilities of the tokens a sequence actually contains.

Every RLHF method needs log π(token | everything before it) for the response
tokens: PPO for its ratio and KL penalty, DPO for its implicit reward. The logits
at position t predict the token at t + 1, so the gathered values are shifted by
one and aligned with the ids they score.

Taught in: chapters/15_ppo.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gather_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits (B, T, V), targets (B, T) int64 -> (B, T): log softmax(logits)[target].

    Uses log_softmax (not softmax then log) so large logits do not overflow.
    """
    logp = F.log_softmax(logits.float(), dim=-1)  # (B, T, V)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)


def response_logprobs(
    model: nn.Module, ids: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs of ``ids`` under ``model``, aligned with ``ids``.

    ids: (B, T) int64 prompt + response (+ right padding); mask: (B, T) bool, True
    on the response tokens to score (never column 0: nothing predicts it).
    Returns (logprobs (B, T), logits (B, T, V)) where logprobs[:, t] =
    log p(ids[:, t] | ids[:, :t]) on the mask and 0 elsewhere, and logits[:, t]
    is the distribution that token was drawn from (for entropy).
    """
    if mask.shape != ids.shape:
        raise ValueError(f"mask {tuple(mask.shape)} != ids {tuple(ids.shape)}")
    if mask[:, 0].any():
        raise ValueError("mask[:, 0] must be False: no logits predict the first id")
    logits = model(ids)[:, :-1]  # (B, T-1, V): position t predicts t + 1
    logprobs = gather_logprobs(logits, ids[:, 1:])  # (B, T-1)
    logprobs = F.pad(logprobs, (1, 0))  # (B, T): aligned with ids
    logits = F.pad(logits, (0, 0, 1, 0))  # (B, T, V)
    return torch.where(mask, logprobs, torch.zeros_like(logprobs)), logits


def sequence_logprob(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T) per-token log-probs -> (B,) log-probability of each whole response."""
    return torch.where(mask, logprobs, torch.zeros_like(logprobs)).sum(-1)
