"""LOCAL ADAPTER, to be deleted when the shared version reaches main.

- ``sample``: batched cached sampling, until ``llmlab.generate`` lands. It relies on
  every prompt in the batch having the same length (true for the course task), so
  no padding mask is needed.
"""

from __future__ import annotations

import torch
from torch import nn

from llmlab.model import KVCache


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
