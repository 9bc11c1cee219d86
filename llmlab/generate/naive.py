"""The plain generation loop: the reference every faster path is checked against.

At every step the whole sequence so far (prompt and the tokens generated) goes
through the model again, and only the last position's logits are used. Simple and
obviously right, but step t costs a forward pass over t tokens, so n new tokens
cost O(n²) token-passes (and attention inside each pass is itself quadratic).

Differs from the cached engine in: no cache; otherwise the same batching, the same
stopping rules and the same draws from the generator, so that both produce the
same tokens from the same seed.

Taught in: chapters/08_generation_cost.ipynb
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch

from llmlab.generate.batching import RowStops, left_pad
from llmlab.generate.sampling import GREEDY, SamplingConfig, sample
from llmlab.model import GPT


@torch.no_grad()
def generate_plain(
    model: GPT,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int | Sequence[int],
    sampling: SamplingConfig = GREEDY,
    generator: torch.Generator | None = None,
    stop_tokens: Collection[int] | Sequence[Collection[int]] = (),
) -> list[list[int]]:
    """New token ids for each prompt, recomputing the whole prefix every step.

    A row ends after its ``max_new_tokens`` or at one of its ``stop_tokens``
    (which is included in its output). Every row samples at every step (finished
    rows' draws are discarded), one ``torch.multinomial`` call per step.
    """
    device = next(model.parameters()).device
    ids, mask = left_pad(prompts, device=device)  # (B, T)
    stops = RowStops(max_new_tokens, stop_tokens, len(prompts), device=device)
    limit = model.config.context_length
    longest = max(len(p) + n for p, n in zip(prompts, stops.limits.tolist()))
    if longest > limit:
        raise ValueError(
            f"prompt + max_new_tokens = {longest} tokens exceeds context_length={limit}"
        )
    out: list[list[int]] = [[] for _ in prompts]
    for _ in range(stops.max_new_tokens):
        logits = model(ids, attention_mask=mask)[:, -1]  # (B, V)
        history = ids.masked_fill(~mask, -1)
        token = sample(logits, sampling, generator=generator, previous=history)
        active = stops.update(token)
        for row in active.nonzero().flatten().tolist():
            out[row].append(int(token[row]))
        if stops.finished:
            break
        ids = torch.cat([ids, token[:, None]], dim=1)  # (B, T + 1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
    return out
