"""Speculative decoding: a small draft model guesses, the large target verifies.

The draft proposes ``n_draft`` tokens one at a time (cheap); the target scores all
of them in one forward pass (about the cost of one step, since a step is limited
by reading the weights, not by the handful of extra tokens). Draft token i is
accepted with probability min(1, p_i / q_i), p the target's and q the draft's
probability of it; at the first rejection a replacement is drawn from
normalise(max(0, p - q)), and if all are accepted one bonus token comes from the
target's next distribution. The tokens produced are distributed exactly as
sampling from the target alone (Leviathan et al. 2023, arXiv:2211.17192, Theorem
3.5; Chen et al. 2023, arXiv:2302.01318). With greedy sampling the rule reduces to
"accept while the draft's token is the target's arg max", so the output equals
greedy decoding with the target.

Differs from the papers in: one sequence at a time; p and q are the *filtered*
distributions of the same ``SamplingConfig`` (temperature, top-k, top-p, min-p),
so the output follows the target sampled with that config; the repetition penalty
is not supported (it would make p depend on rejected drafts).

Taught in: chapters/08_generation_cost.ipynb
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import torch

from llmlab.generate.sampling import GREEDY, SamplingConfig, filtered_probs
from llmlab.model import GPT, KVCache


@dataclass(frozen=True)
class SpeculativeResult:
    tokens: list[int]
    """The new tokens (a stop token that ended generation included)."""
    proposed: int
    """Draft tokens proposed in total."""
    accepted: int
    """Draft tokens the target accepted."""
    target_calls: int
    """Forward passes of the target model (prefill included)."""

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / max(self.proposed, 1)


def verify(
    p: torch.Tensor,
    q: torch.Tensor,
    drafts: torch.Tensor,
    *,
    greedy: bool,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Accept a prefix of ``drafts`` and add one token: the speculative rule.

    p: (k + 1, V) target probabilities at each draft position and one past it;
    q: (k, V) draft probabilities; drafts: (k,) int64. Returns the accepted drafts
    followed by the correction (first rejection) or bonus token (all accepted).
    """
    k = drafts.shape[0]
    out: list[int] = []
    for i in range(k):
        d = int(drafts[i])
        if greedy:
            if int(p[i].argmax()) != d:
                return out + [int(p[i].argmax())]
        else:
            u = torch.rand((), generator=generator, device=p.device)
            if u * q[i, d] > p[i, d]:  # reject with probability 1 - p/q
                residual = (p[i] - q[i]).clamp(min=0)
                if residual.sum() <= 0:  # p == q up to rounding: draw from p
                    residual = p[i]
                return out + [_draw(residual / residual.sum(), generator)]
        out.append(d)
    last = p[k]
    return out + [int(last.argmax()) if greedy else _draw(last, generator)]


@torch.no_grad()
def speculative_generate(
    target: GPT,
    draft: GPT,
    prompt: Sequence[int],
    *,
    max_new_tokens: int,
    n_draft: int = 4,
    sampling: SamplingConfig = GREEDY,
    generator: torch.Generator | None = None,
    stop_tokens: Collection[int] = (),
) -> SpeculativeResult:
    """Generate up to ``max_new_tokens`` after ``prompt`` (one sequence) with
    ``draft`` proposing ``n_draft`` tokens per target call."""
    _check(target, draft, prompt, max_new_tokens, n_draft, sampling)
    device = next(target.parameters()).device
    ids = torch.as_tensor([list(prompt)], device=device)  # (1, T)
    target_cache = _cache(target, ids, max_new_tokens, n_draft)
    draft_cache = _cache(draft, ids, max_new_tokens, n_draft)
    # The target's cache holds every token but the newest, whose logits the next
    # round needs; the draft's may lag further behind (it catches up first).
    if ids.shape[1] > 1:
        target(ids[:, :-1], cache=target_cache)
    sequence = list(prompt)
    produced: list[int] = []
    proposed = accepted = 0
    calls = int(ids.shape[1] > 1)
    stops = set(stop_tokens)
    while len(produced) < max_new_tokens and not stops.intersection(produced):
        k = min(n_draft, max_new_tokens - len(produced))
        lag = sequence[draft_cache.filled :]  # tokens the draft has not seen
        drafts, q = _propose(draft, draft_cache, lag, k, sampling, generator)
        block = torch.tensor([[sequence[-1], *drafts.tolist()]], device=device)
        p = _probs(target(block, cache=target_cache)[0], sampling)  # (k + 1, V)
        calls += 1
        new = verify(p, q, drafts, greedy=sampling.greedy, generator=generator)
        proposed, accepted = proposed + k, accepted + len(new) - 1
        kept = len(sequence) + len(new) - 1  # cached tokens that stay valid
        _truncate(target_cache, kept)
        _truncate(draft_cache, min(draft_cache.filled, kept))
        sequence += new
        produced += new
    produced = _cut(produced, max_new_tokens, stops)
    return SpeculativeResult(produced, proposed, accepted, calls)


def _propose(draft, cache, lag, k, sampling, generator):
    """k draft tokens (k,) and the draft's probabilities for them (k, V)."""
    device = next(draft.parameters()).device
    inputs = torch.tensor([lag], device=device)  # (1, len(lag))
    tokens, probs = [], []
    for i in range(k):
        q = _probs(draft(inputs, cache=cache)[0, -1:], sampling)[0]  # (V,)
        token = int(q.argmax()) if sampling.greedy else _draw(q, generator)
        tokens.append(token)
        probs.append(q)
        inputs = torch.tensor([[token]], device=device)
    return torch.tensor(tokens, device=device), torch.stack(probs)


def _probs(logits: torch.Tensor, sampling: SamplingConfig) -> torch.Tensor:
    return filtered_probs(logits.float(), sampling)


def _draw(probs: torch.Tensor, generator) -> int:
    return int(torch.multinomial(probs, 1, generator=generator))


def _cache(model: GPT, ids: torch.Tensor, max_new: int, n_draft: int) -> KVCache:
    param = next(model.parameters())
    return KVCache(
        model.config,
        batch_size=1,
        max_len=ids.shape[1] + max_new + n_draft,
        device=param.device,
        dtype=param.dtype,
    )


def _truncate(cache: KVCache, length: int) -> None:
    """Forget every slot from ``length`` on (rejected drafts): the next token takes
    the position after the kept ones, not after the forgotten ones."""
    if cache.filled > length:
        cache.truncate(length)


def _cut(tokens: list[int], limit: int, stops: set[int]) -> list[int]:
    tokens = tokens[:limit]
    for i, t in enumerate(tokens):
        if t in stops:
            return tokens[: i + 1]
    return tokens


def _check(target, draft, prompt, max_new_tokens, n_draft, sampling) -> None:
    if target.config.vocab_size != draft.config.vocab_size:
        raise ValueError(
            f"draft vocab_size={draft.config.vocab_size} differs from target "
            f"vocab_size={target.config.vocab_size}"
        )
    if not isinstance(n_draft, int) or n_draft < 1:
        raise ValueError(f"n_draft={n_draft!r} must be an int >= 1")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} must be an int >= 1")
    if sampling.repetition_penalty != 1:
        raise ValueError(
            f"repetition_penalty={sampling.repetition_penalty} is not supported "
            f"by speculative decoding"
        )
    if not prompt:
        raise ValueError("prompt is empty; it needs at least one token id")
    for model in (target, draft):
        limit = model.config.context_length
        if len(prompt) + max_new_tokens + n_draft > limit:
            raise ValueError(
                f"prompt {len(prompt)} + max_new_tokens {max_new_tokens} + "
                f"n_draft {n_draft} tokens exceed context_length={limit}"
            )
