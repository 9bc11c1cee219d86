"""Checkers for chapter 08, the cost of generation."""

from __future__ import annotations

import dataclasses
import random

import torch

from llmlab.exercises._core import exercise
from llmlab.model import GPT, GPTConfig, KVCache


@exercise("max_context_for_budget")
def verify_max_context_for_budget(fn) -> None:
    """``max_context_for_budget(config, budget_bytes, batch_size, bytes_per_value)``:
    the largest T whose KV cache for ``batch_size`` sequences fits the budget."""
    base = GPTConfig(vocab_size=64, d_model=64, n_heads=8, n_layers=3, d_ff=64)
    for kv, batch, nbytes, budget in [
        (8, 1, 4, 1_000_000),
        (2, 4, 2, 3_000_000),
        (1, 3, 4, 123_457),
    ]:
        config = dataclasses.replace(base, n_kv_heads=kv, context_length=100_000)
        got = fn(config, budget, batch, nbytes)
        dtype = {2: torch.float16, 4: torch.float32}[nbytes]

        def size(t):
            return KVCache(config, batch_size=batch, max_len=t, dtype=dtype).nbytes()

        assert isinstance(got, int) and got >= 1, f"expected a positive int, got {got}"
        assert size(got) <= budget < size(got + 1), (
            f"kv_heads={kv}, batch={batch}, {nbytes}-byte values, budget {budget}: "
            f"T={got} gives {size(got)} bytes, T+1 gives {size(got + 1)}. Hint: "
            f"each token costs 2 · layers · kv_heads · d_head · batch · bytes."
        )


@exercise("expected_tokens_per_call")
def verify_expected_tokens_per_call(fn) -> None:
    """``expected_tokens_per_call(alpha, k)``: mean tokens one target call yields when
    each of k drafts is accepted independently with probability alpha."""
    rng = random.Random(0)
    for alpha, k in [(0.0, 4), (0.5, 1), (0.8, 4), (0.6, 7), (1.0, 3)]:
        got = fn(alpha, k)
        total = 0
        for _ in range(20_000):  # simulate: accept until a rejection, plus one
            n = 0
            while n < k and rng.random() < alpha:
                n += 1
            total += n + 1
        simulated = total / 20_000
        assert abs(got - simulated) < 0.05 * simulated, (
            f"alpha={alpha}, k={k}: got {got}, a simulation gives {simulated:.3f}. "
            f"Hint: the i-th draft counts with probability alpha**i; the target "
            f"always adds one token."
        )


@exercise("tokens_processed")
def verify_tokens_processed(fn) -> None:
    """``tokens_processed(prompt_len, new_tokens, cached)``: token positions the model
    runs over to generate ``new_tokens`` (the last one is never fed back)."""
    from llmlab.generate import generate, generate_plain

    model = GPT(GPTConfig(vocab_size=32, context_length=64)).eval()
    seen = []
    model.register_forward_hook(
        lambda m, args, kw, out: seen.append(out.shape[1]), with_kwargs=True
    )
    for prompt_len, new in [(1, 1), (5, 3), (10, 20), (3, 40)]:
        for cached, run in ((False, generate_plain), (True, generate)):
            seen.clear()
            run(model, [[1] * prompt_len], max_new_tokens=new)
            got = fn(prompt_len, new, cached)
            assert got == sum(seen), (
                f"prompt {prompt_len}, {new} new tokens, cached={cached}: got {got}, "
                f"the {'engine' if cached else 'plain loop'} processed {sum(seen)}"
            )
