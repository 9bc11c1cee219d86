"""Rolling the KV cache: generation that runs indefinitely in a fixed window.

When the cache is full, a sliding policy (``window.py``) names the slots to keep and
``KVCache.keep`` compacts them in place: nothing is recomputed, so every step costs
the same however long the stream runs.

Positions after a roll: the kept tokens are re-indexed 0, 1, ..., n-1 by their slot
(StreamingLLM, Xiao et al. 2023, arXiv:2309.17453, section 3.2: "positions within
the cache"), and the next token gets position n. So no position ever reaches the
context length, and the first tokens (the sinks) stay close to the queries instead
of drifting thousands of positions away. For RoPE the cached keys were rotated at
their old positions; they are rotated again by the shift (``apply_rope`` with
new - old), which is exact because rotations add. ALiBi and "none" read positions
only through the cache's position table, which is rewritten. For learned and
sinusoidal positions the cached keys keep the position they were computed at (it is
inside their hidden states); only new tokens use the re-indexed positions.

With ``SlidingWindow(W)`` and a relative scheme (RoPE, ALiBi, none) the stream
equals one forward pass with a sliding-window attention mask of width W: each token
saw exactly its W most recent tokens (tests check this).

``as_context_policy`` plugs a window policy into ``llmlab.generate``'s cached engine
(its ``policy`` hook), so batched, sampled, streamed generation rolls the same way.

Differs from StreamingLLM in: the roll happens one token before the cache is full,
so a window of W means "the new token and its W-1 predecessors", like the mask.

Taught in: chapters/10_long_context.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmlab.context.window import WindowPolicy
from llmlab.generate import ContextPolicy
from llmlab.model import GPT, KVCache, apply_rope


def roll(cache: KVCache, policy: WindowPolicy, *, room: int, model: GPT) -> int:
    """Compact ``cache`` to the slots ``policy`` keeps out of ``cache.filled`` so that
    at most ``room`` remain, and re-index their positions 0..n-1 (RoPE keys are
    re-rotated). Returns the number of slots dropped."""
    filled = cache.filled
    kept = policy.kept(filled, room)
    if len(kept) == filled:
        return 0
    device = cache.positions.device
    slots = torch.tensor(kept, dtype=torch.long, device=device)
    cache.keep(slots)
    n = len(kept)
    old = cache.positions[:, :n].clone()  # (B, n)
    real = cache.key_mask[:, :n].long()  # (B, n): left padding counts no position
    new = (real.cumsum(dim=1) - 1).clamp(min=0)  # (B, n): 0, 1, ... per row
    if model.config.position == "rope":
        _rerotate(cache, new - old, theta=model.config.rope_theta)
    cache.positions[:, :n] = new
    cache.lengths[:] = real.sum(dim=1)  # each row's next default position
    return filled - n


def as_context_policy(policy: WindowPolicy, model: GPT) -> ContextPolicy:
    """Adapt a window policy to ``llmlab.generate``'s engine hook: when ``needed``
    more slots would overflow the cache, roll it to make room."""

    def make_room(cache: KVCache, needed: int) -> None:
        roll(cache, policy, room=cache.max_len - needed, model=model)

    return make_room


def _rerotate(cache: KVCache, shift: torch.Tensor, *, theta: float) -> None:
    """Turn every cached key by ``shift`` (B, n) positions (rotations compose)."""
    n = shift.shape[1]
    for layer in cache.layers:
        for b in range(shift.shape[0]):
            keys = layer.keys[b : b + 1, :, :n]  # (1, K, n, Dh)
            layer.keys[b : b + 1, :, :n] = apply_rope(keys, shift[b], theta=theta)


@torch.no_grad()
def streaming_nll(
    model: GPT, ids: torch.Tensor, policy: WindowPolicy, *, window: int
) -> torch.Tensor:
    """Next-token loss of each token of a long sequence read through a rolled cache.

    ids: (T,) int64 -> (T - 1,) float: entry t is -log p(ids[t + 1] | what the
    cache holds after reading ids[:t + 1]). The first ``window`` tokens are read in
    one forward pass; then one token per step, rolling whenever the cache is full.
    """
    if ids.dim() != 1 or len(ids) < 2:
        raise ValueError(f"ids must be (T,) with T >= 2, got {tuple(ids.shape)}")
    if not 1 < window <= model.config.context_length:
        raise ValueError(
            f"window={window} must be in 2..context_length="
            f"{model.config.context_length}"
        )
    device = next(model.parameters()).device
    ids = ids.to(device)
    cache = KVCache(model.config, batch_size=1, max_len=window, device=device)
    first = min(window, len(ids))
    logits = [model(ids[None, :first], cache=cache)[0]]  # (first, V)
    for t in range(first, len(ids)):
        if cache.filled >= window:
            roll(cache, policy, room=window - 1, model=model)
        position = torch.tensor([[cache.filled]], device=device)
        logits.append(model(ids[None, t : t + 1], cache=cache, positions=position)[0])
    logits = torch.cat(logits)[:-1]  # (T - 1, V)
    return F.cross_entropy(logits, ids[1:], reduction="none")


@torch.no_grad()
def generate_streaming(
    model: GPT,
    prompt: list[int],
    policy: WindowPolicy,
    *,
    window: int,
    max_new_tokens: int,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Generate ``max_new_tokens`` after ``prompt`` (B = 1), rolling the cache.

    Greedy at ``temperature=0``, else sampled from softmax(logits / temperature).
    The prompt is first fitted to the window with the same policy.
    """
    if not prompt:
        raise ValueError("the prompt is empty")
    if temperature < 0:
        raise ValueError(f"temperature={temperature} must be >= 0")
    device = next(model.parameters()).device
    kept = [prompt[i] for i in policy.kept(len(prompt), window)]
    cache = KVCache(model.config, batch_size=1, max_len=window, device=device)
    logits = model(torch.tensor([kept], device=device), cache=cache)[0, -1]
    out: list[int] = []
    for _ in range(max_new_tokens):
        token = _choose(logits, temperature, generator)
        out.append(token)
        if cache.filled >= window:
            roll(cache, policy, room=window - 1, model=model)
        position = torch.tensor([[cache.filled]], device=device)
        step = torch.tensor([[token]], device=device)
        logits = model(step, cache=cache, positions=position)[0, -1]
    return out


def _choose(logits: torch.Tensor, temperature: float, generator) -> int:
    if temperature == 0:
        return int(logits.argmax())
    probs = (logits.float() / temperature).softmax(-1).cpu()
    return int(torch.multinomial(probs, 1, generator=generator))
