"""The reward model: the transformer with its vocabulary head swapped for one scalar.

A language model's last hidden state at a position summarises everything up to it;
a linear map to one number turns that summary into a score. The reward of a
response is the score at its last token, and the model is trained on preference
pairs with the Bradley–Terry loss (``llmlab.rlhf.losses.bradley_terry_loss``), as in
Ouyang et al. 2022 (arXiv:2203.02155). PPO's value model is the same class: one
scalar per position, read everywhere instead of at the end.

Differs from InstructGPT in: the trunk is the tiny SFT model itself (they used a
6B reward model for a 175B policy).

Taught in: chapters/14_reward_model.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from llmlab.model import GPT, GPTConfig
from llmlab.rlhf.losses import bradley_terry_loss
from llmlab.train import train_step


class RewardModel(nn.Module):
    """GPT trunk + a linear head to one scalar per position."""

    def __init__(
        self, config: GPTConfig, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.body = GPT(config, generator=generator)
        self.body.head = nn.Identity()  # forward now returns hidden states (B, T, D)
        self.score_head = nn.Linear(config.d_model, 1)
        nn.init.normal_(self.score_head.weight, 0.0, 0.02, generator=generator)
        nn.init.zeros_(self.score_head.bias)

    @classmethod
    def from_lm(
        cls, lm: GPT, *, generator: torch.Generator | None = None
    ) -> RewardModel:
        """A reward model whose trunk starts as a copy of ``lm``'s weights."""
        model = cls(lm.config, generator=generator)
        trunk = {k: v for k, v in lm.state_dict().items() if not k.startswith("head.")}
        model.body.load_state_dict(trunk)
        return model.to(next(lm.parameters()).device)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) int64 -> (B, T): a scalar after each prefix ids[:, :t + 1]."""
        return self.score_head(self.body(ids)).squeeze(-1)  # (B, T, 1) -> (B, T)

    def score(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Reward of each response: the scalar at its last masked token -> (B,).

        mask: (B, T) bool, True on the response tokens (each row needs one).
        """
        if not mask.any(1).all():
            raise ValueError("score: every row's mask needs a True entry")
        T = mask.shape[1]
        last = T - 1 - mask.flip(1).float().argmax(1)  # (B,) index of last True
        return self(ids).gather(1, last[:, None]).squeeze(1)


def values_for_tokens(value_model: RewardModel, ids: torch.Tensor) -> torch.Tensor:
    """PPO values aligned with ``ids``: (B, T) with [:, t] = V(ids[:, :t]), the
    value of the state in which token t was chosen (column 0 is 0, never used)."""
    v = value_model(ids)[:, :-1]  # (B, T-1): after prefix ids[:, :t + 1]
    return torch.nn.functional.pad(v, (1, 0))  # (B, T)


@dataclass(frozen=True)
class RewardConfig:
    steps: int = 400
    """Optimizer steps."""
    batch_size: int = 64
    """Preference pairs per step."""
    lr: float = 1e-3
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(
                f"steps={self.steps}, batch_size={self.batch_size} must be >= 1 "
                f"and lr={self.lr} > 0"
            )


Pairs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""(chosen_ids, chosen_mask, rejected_ids, rejected_mask), each (N, T)."""


def reward_loss(
    model: RewardModel, batch: Pairs
) -> tuple[torch.Tensor, dict[str, float]]:
    """Bradley–Terry loss of a batch of pairs; metrics: accuracy."""
    chosen_ids, chosen_mask, rejected_ids, rejected_mask = batch
    ids = torch.cat([chosen_ids, rejected_ids])  # (2B, T): one forward pass
    scores = model.score(ids, torch.cat([chosen_mask, rejected_mask]))
    chosen, rejected = scores.chunk(2)
    loss, accuracy = bradley_terry_loss(chosen, rejected)
    return loss, {"accuracy": accuracy.item()}


def train_reward_model(
    model: RewardModel,
    pairs: Pairs,
    config: RewardConfig,
    *,
    generator: torch.Generator,
) -> list[float]:
    """Train on preference pairs in place; returns the loss of every step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    model.train()
    losses = []
    for _ in range(config.steps):
        rows = torch.randint(len(pairs[0]), (config.batch_size,), generator=generator)
        batch = tuple(x[rows] for x in pairs)
        stats = train_step(
            model, [batch], reward_loss, optimizer, grad_clip=config.grad_clip
        )
        losses.append(stats["loss"])
    return losses


@torch.no_grad()
def reward_accuracy(model: RewardModel, pairs: Pairs) -> float:
    """Fraction of pairs where the chosen response gets the higher reward."""
    model.eval()
    return reward_loss(model, pairs)[1]["accuracy"]
