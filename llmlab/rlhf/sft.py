"""Supervised fine-tuning: imitate demonstrations, learning only from the assistant.

A demonstration is a prompt and a good response rendered in the chat layout. The
loss is the usual next-token cross-entropy, but averaged over the assistant's
tokens only (``mask``): the model should learn to *answer*, not to predict what
users type. Prompt tokens still pass through the model as context.

Differs from InstructGPT's SFT in: a from-scratch model on a tiny task instead of
fine-tuning a pretrained one, and no dropout or early stopping on validation.

Taught in: chapters/13_sft.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from llmlab.rlhf.advantages import masked_mean
from llmlab.rlhf.logprobs import response_logprobs
from llmlab.train import train_step


@dataclass(frozen=True)
class SFTConfig:
    steps: int = 600
    """Optimizer steps."""
    batch_size: int = 64
    """Demonstrations per step."""
    lr: float = 3e-3
    """AdamW learning rate (constant)."""
    weight_decay: float = 0.0
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(
                f"steps={self.steps}, batch_size={self.batch_size} must be >= 1 "
                f"and lr={self.lr} > 0"
            )


def sft_loss(
    model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy on the assistant tokens only. batch: (ids, mask), both (B, T);
    mask True on the response tokens (the targets that count)."""
    ids, mask = batch
    logprobs, _ = response_logprobs(model, ids, mask)
    return -masked_mean(logprobs, mask), {}


def train_sft(
    model: nn.Module,
    ids: torch.Tensor,
    mask: torch.Tensor,
    config: SFTConfig,
    *,
    generator: torch.Generator,
) -> list[float]:
    """Fine-tune ``model`` in place on rendered demonstrations (N, T) with their
    assistant masks; returns the loss of every step."""
    if ids.shape != mask.shape:
        raise ValueError(f"ids {tuple(ids.shape)} and mask {tuple(mask.shape)} differ")
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    model.train()
    losses = []
    for _ in range(config.steps):
        rows = torch.randint(len(ids), (config.batch_size,), generator=generator)
        batch = (ids[rows], mask[rows])
        stats = train_step(
            model, [batch], sft_loss, optimizer, grad_clip=config.grad_clip
        )
        losses.append(stats["loss"])
    return losses
