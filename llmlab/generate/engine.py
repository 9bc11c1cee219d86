"""The cached engine: prefill the prompts once, then decode one token per step.

Prefill runs the left-padded batch of prompts through the model with its
``attention_mask``, filling a ``KVCache`` with every prompt token's keys and
values. Each decode step then feeds only the newest token of each row: its query
attends to the cached keys, so a step costs O(T) instead of the plain loop's
O(T²). ``stream`` yields one ``Step`` per decode step; ``generate`` collects them.

The context-window guard: a sequence may not grow past the model's
``context_length``. Without a ``policy`` the engine checks this *before*
prefilling and raises, naming the lengths. With a policy (see ``ContextPolicy``),
the cache is allocated at the window's size and the policy is asked to make room
whenever the next step would overflow it; positions then keep counting past the
window (``extrapolate=True``), which only schemes that extrapolate accept.

Differs from production engines (vLLM, TGI) in: one batch in lockstep, no paged
memory, no continuous batching; a finished row keeps being computed until the
whole batch is done.

Taught in: chapters/08_generation_cost.ipynb
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

import torch

from llmlab.generate.batching import RowStops, left_pad
from llmlab.generate.sampling import GREEDY, SamplingConfig, sample
from llmlab.model import GPT, KVCache

ContextPolicy = Callable[[KVCache, int], None]
"""``policy(cache, needed)`` is called when writing ``needed`` more slots would
overflow the cache; it must free slots in place (e.g. ``cache.keep(slots)``) so
that ``cache.filled + needed <= cache max_len``, or raise."""


@dataclass(frozen=True)
class Step:
    """One decode step of a batch."""

    tokens: torch.Tensor
    """(B,) int64: the token each row produced (meaningless where not active)."""
    active: torch.Tensor
    """(B,) bool: rows for which this token counts (not finished before it)."""


@torch.no_grad()
def stream(
    model: GPT,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int | Sequence[int],
    sampling: SamplingConfig = GREEDY,
    generator: torch.Generator | None = None,
    stop_tokens: Collection[int] | Sequence[Collection[int]] = (),
    policy: ContextPolicy | None = None,
) -> Iterator[Step]:
    """Yield one ``Step`` per generated position until every row has finished.

    Rows end as in ``generate_plain`` (their ``max_new_tokens`` or a stop token,
    which counts as produced); the generator is drawn from exactly as there, so
    both give the same tokens for the same seed.
    """
    device = next(model.parameters()).device
    ids, mask = left_pad(prompts, device=device)  # (B, T)
    stops = RowStops(max_new_tokens, stop_tokens, len(prompts), device=device)
    cache = _new_cache(model, prompts, stops, policy, ids.shape[1])
    _make_room(cache, ids.shape[1], policy)
    extrapolate = policy is not None
    logits = model(ids, attention_mask=mask, cache=cache, extrapolate=extrapolate)
    history = ids.masked_fill(~mask, -1)  # (B, S): every id so far, pads as -1
    logits = logits[:, -1]  # (B, V)
    while True:
        token = sample(logits, sampling, generator=generator, previous=history)
        active = stops.update(token)
        yield Step(tokens=token, active=active)
        if stops.finished:
            return
        history = torch.cat([history, token[:, None]], dim=1)
        _make_room(cache, 1, policy)
        logits = model(token[:, None], cache=cache, extrapolate=extrapolate)[:, -1]


def generate(
    model: GPT,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int | Sequence[int],
    sampling: SamplingConfig = GREEDY,
    generator: torch.Generator | None = None,
    stop_tokens: Collection[int] | Sequence[Collection[int]] = (),
    policy: ContextPolicy | None = None,
) -> list[list[int]]:
    """New token ids for each prompt (a stop token that ended a row included)."""
    out: list[list[int]] = [[] for _ in prompts]
    for step in stream(
        model,
        prompts,
        max_new_tokens=max_new_tokens,
        sampling=sampling,
        generator=generator,
        stop_tokens=stop_tokens,
        policy=policy,
    ):
        for row in step.active.nonzero().flatten().tolist():
            out[row].append(int(step.tokens[row]))
    return out


def _new_cache(
    model: GPT, prompts, stops: RowStops, policy: ContextPolicy | None, width: int
) -> KVCache:
    """A cache for the padded prompts and every new token (the window's size when
    a policy manages it); raises first if a sequence would outgrow the window."""
    limit = model.config.context_length
    longest = max(len(p) + n for p, n in zip(prompts, stops.limits.tolist()))
    if policy is None and longest > limit:
        raise ValueError(
            f"prompt + max_new_tokens = {longest} tokens exceeds "
            f"context_length={limit}; shorten the prompt, lower max_new_tokens, "
            f"or pass a context policy"
        )
    if width > limit:
        raise ValueError(f"prompt of {width} tokens exceeds context_length={limit}")
    slots = width + stops.max_new_tokens - 1  # the last token is never fed back
    max_len = min(slots, limit) if policy is not None else slots
    param = next(model.parameters())
    return KVCache(
        model.config,
        batch_size=len(prompts),
        max_len=max_len,
        device=param.device,
        dtype=param.dtype,
    )


def _make_room(cache: KVCache, needed: int, policy: ContextPolicy | None) -> None:
    max_len = cache.max_len
    if cache.filled + needed <= max_len:
        return
    if policy is None:  # unreachable after the guard in _new_cache; kept as a check
        raise RuntimeError(f"cache of {max_len} slots is full ({cache.filled} used)")
    policy(cache, needed)
    if cache.filled + needed > max_len:
        raise RuntimeError(
            f"context policy left {cache.filled} of {max_len} slots used; "
            f"{needed} more do not fit"
        )
