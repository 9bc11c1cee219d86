"""Measurements of what a model does with its context: copying, recall, attention.

Each probe is a small pure function of a model and prompts (``recall_task.py``):

- ``copy_accuracy``: a random sequence written twice; how often the greedy next
  token in the second copy is right (a model that copies gets ~1, chance is 1/V).
- ``recall_accuracy``: ``mark k v ... mark k``; is the top prediction v?
- ``induction_scores``: per layer and head, the attention a query in the second
  copy puts on the token *after* its earlier occurrence (the induction pattern).
- ``attention_by_distance``: the mean attention weight at each query-key distance.
- ``attention_on``: the weight the last query puts on one key position.

Differs from Olsson et al. 2022 (arXiv:2209.11895) in: the induction score is read
from the attention pattern only (no prefix-matching / copying decomposition).

Taught in: chapters/11_what_context_is_not.ipynb
"""

from __future__ import annotations

import torch

from llmlab.model import GPT


def _device(model: GPT) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def copy_accuracy(model: GPT, prompts: torch.Tensor) -> tuple[float, float]:
    """(accuracy in the second copy, accuracy in the first) of greedy predictions.

    prompts: (N, 2L) from ``copy_prompts``. In the second copy, positions L .. 2L-2
    predict tokens L+1 .. 2L-1, all seen before; in the first copy the next token is
    random, so its accuracy is the chance baseline.
    """
    N, T = prompts.shape
    L = T // 2
    if T != 2 * L or L < 2:
        raise ValueError(
            f"prompts must be (N, 2L) with L >= 2, got {tuple(prompts.shape)}"
        )
    guess = model(prompts.to(_device(model))).argmax(-1).cpu()  # (N, 2L)
    hits = guess[:, :-1] == prompts[:, 1:]  # (N, 2L - 1): position t predicts t + 1
    return hits[:, L:].float().mean().item(), hits[:, : L - 1].float().mean().item()


@torch.no_grad()
def recall_accuracy(
    model: GPT, prompts: torch.Tensor, values: torch.Tensor, **forward_kwargs
) -> float:
    """Fraction of prompts (N, T) whose last-position argmax is the value (N,)."""
    logits = model(prompts.to(_device(model)), **forward_kwargs)[:, -1]  # (N, V)
    return (logits.argmax(-1).cpu() == values).float().mean().item()


def induction_scores(maps: list[torch.Tensor], length: int) -> torch.Tensor:
    """(L_layers, H): mean weight from query t (second copy) to key t - length + 1.

    maps: per layer (N, H, 2·length, 2·length) attention weights of copy prompts.
    A perfect induction head scores 1: it looks at what followed this token last
    time.
    """
    scores = []
    for weights in maps:
        T = weights.shape[-1]
        if T != 2 * length:
            raise ValueError(f"maps have T={T}, expected 2 * length = {2 * length}")
        t = torch.arange(length, T - 1)
        picked = weights[:, :, t, t - length + 1]  # (N, H, length - 1)
        scores.append(picked.mean(dim=(0, 2)))  # (H,)
    return torch.stack(scores)  # (L_layers, H)


def attention_by_distance(weights: torch.Tensor) -> torch.Tensor:
    """Mean attention weight at each distance: (N, H, T, T) -> (T,).

    Entry d averages weights[..., t, t - d] over every query t >= d, head and row.
    """
    T = weights.shape[-1]
    mean = weights.mean(dim=(0, 1))  # (T, T)
    return torch.stack([mean.diagonal(-d).mean() for d in range(T)])  # (T,)


def attention_on(weights: torch.Tensor, key: int) -> torch.Tensor:
    """Weight the last query puts on ``key``, per head: (N, H, T, S) -> (N, H)."""
    return weights[:, :, -1, key]
