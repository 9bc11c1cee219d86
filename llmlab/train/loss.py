"""Next-token cross-entropy: the pretraining objective.

For each position, the model's logits over the vocabulary become probabilities
through a softmax, and the loss is minus the log-probability it gave the token that
actually came next, averaged over all positions: ``mean(-log p(x_{t+1} | x_{<=t}))``.

``cross_entropy`` is the code of record (PyTorch's fused kernel);
``cross_entropy_by_hand`` writes the same formula out with a log-sum-exp that stays
finite for large logits, and a test shows the two agree.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss. logits: (B, T, V) or (N, V); targets: (B, T) or (N,) int64.

    The loss is computed in float32 even when the logits are bf16 (under autocast).
    """
    logits, targets = _flatten(logits, targets)
    return F.cross_entropy(logits.float(), targets)


def next_token_loss(
    model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """The pretraining objective as a ``loss_fn`` for ``train_step``.

    ``batch`` is (x, y), two (B, T) int64 tensors with y = x shifted by one.
    Returns (mean loss, metrics); other objectives (SFT, reward model, DPO, PPO)
    are functions of the same shape: ``loss_fn(model, batch) -> (loss, metrics)``.
    """
    x, y = batch
    loss = cross_entropy(model(x), y)  # predict, then score
    return loss, {}


def cross_entropy_by_hand(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The same loss written out: logsumexp(logits) - logits[target], averaged.

    Subtracting the row maximum before ``exp`` keeps it finite: exp(1000) overflows,
    exp(1000 - 1000) does not, and the shift cancels in the difference.
    """
    logits, targets = _flatten(logits, targets)
    logits = logits.float()
    top = logits.max(dim=-1, keepdim=True).values  # (N, 1)
    log_sum_exp = top.squeeze(-1) + (logits - top).exp().sum(dim=-1).log()  # (N,)
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (N,)
    return (log_sum_exp - picked).mean()


def perplexity(loss: float) -> float:
    """exp(loss): the effective number of equally likely choices per token."""
    return math.exp(loss)


def _flatten(logits: torch.Tensor, targets: torch.Tensor):
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ: "
            "want logits (..., V) and targets (...)"
        )
    V = logits.shape[-1]
    return logits.reshape(-1, V), targets.reshape(-1)  # (N, V), (N,)
