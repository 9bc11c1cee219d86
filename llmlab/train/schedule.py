"""The learning-rate schedule: linear warmup, then cosine decay to a floor.

A pure function of the step number, so resuming a run needs no scheduler state.
Warmup grows the rate from 0 while AdamW's moment estimates are still noisy; the
cosine then lowers it smoothly so late steps refine instead of jumping around.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import math


def lr_at(
    step: int, *, lr: float, min_lr: float, warmup_steps: int, max_steps: int
) -> float:
    """Learning rate for optimizer step ``step`` (0-based).

    Warmup: ``lr * (step + 1) / warmup_steps`` for step < warmup_steps, so the first
    step already moves. Then cosine from ``lr`` down to ``min_lr`` at ``max_steps``,
    and ``min_lr`` after it. ``lr_at(0, lr=1, min_lr=0, warmup_steps=10,
    max_steps=100) -> 0.1``.
    """
    if step < 0:
        raise ValueError(f"step={step} must be >= 0")
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)  # 0 -> 1
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))
