from __future__ import annotations

import dataclasses

import torch

from llmlab.model import GPT, GPTConfig

BASE = GPTConfig(
    vocab_size=64, context_length=96, d_model=32, n_heads=4, n_layers=2, d_ff=64
)


def tiny_model(seed: int = 0, *, scale: float = 4.0, **overrides) -> GPT:
    """A random tiny GPT whose weights are scaled up so its next-token
    distributions are peaked (greedy choices are not near-ties)."""
    config = dataclasses.replace(BASE, **overrides)
    model = GPT(config, generator=torch.Generator().manual_seed(seed)).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(scale)
    return model


def random_prompts(lengths, vocab_size: int = 64, seed: int = 0) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(vocab_size, (n,), generator=g).tolist() for n in lengths]
