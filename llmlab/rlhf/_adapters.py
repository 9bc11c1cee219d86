"""LOCAL ADAPTERS, to be deleted when the shared versions reach main.

- ``train_step``: the loss-agnostic step the "train" work is adding to
  ``llmlab.train`` (``train_step(model, batch, loss_fn, optimizer, ...)`` with
  ``loss_fn(model, batch) -> (loss, metrics)``).
- ``sample``: batched cached sampling, until ``llmlab.generate`` lands. It relies on
  every prompt in the batch having the same length (true for the course task), so
  no padding mask is needed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from llmlab.model import KVCache
from llmlab.train import clip_grad_norm


def train_step(
    model: nn.Module,
    batch,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    *,
    grad_clip: float | None = None,
) -> dict[str, float]:
    """One optimizer step on ``loss_fn(model, batch)``; returns its metrics + loss."""
    optimizer.zero_grad(set_to_none=True)
    loss, metrics = loss_fn(model, batch)
    loss.backward()
    if grad_clip is not None:
        params = [p for g in optimizer.param_groups for p in g["params"]]
        clip_grad_norm(params, grad_clip)
    optimizer.step()
    return {"loss": loss.item(), **metrics}


@torch.no_grad()
def sample(
    model: nn.Module,
    prompts: torch.Tensor,
    *,
    max_new_tokens: int,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    use_cache: bool = True,
) -> torch.Tensor:
    """prompts (B, P) int64 -> (B, max_new_tokens) sampled continuation ids."""
    cache = None
    if use_cache:
        max_len = prompts.shape[1] + max_new_tokens
        cache = KVCache(model.config, batch_size=len(prompts), max_len=max_len)
    logits = model(prompts, cache=cache)[:, -1]  # (B, V): prefill
    ids, out = prompts, []
    for i in range(max_new_tokens):
        probs = torch.softmax(logits.float() / temperature, dim=-1)  # (B, V)
        token = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
        out.append(token)
        ids = torch.cat([ids, token], dim=1)
        if i + 1 < max_new_tokens:  # with a cache only the new token is fed
            logits = model(token if cache is not None else ids, cache=cache)[:, -1]
    return torch.cat(out, dim=1)  # (B, max_new_tokens)
