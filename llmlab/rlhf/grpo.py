"""Group relative policy optimisation: PPO's clipped update without a value model
(Shao et al. 2024, arXiv:2402.03300).

Each prompt is answered ``group_size`` times; a response's advantage is its reward
minus its group's mean, divided by the group's standard deviation
(``llmlab.rlhf.losses.group_advantages``), and every token of the response gets
that advantage. The KL to the reference is a term in the loss (the k3 estimator),
not a part of the reward.

Differs from the paper in: the reward is the course's learned reward model (they
also use rule-based rewards), and the loss averages over all response tokens of
the batch rather than per sequence first.

Taught in: chapters/16_dpo_grpo.ipynb
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from llmlab.rlhf import task
from llmlab.rlhf.advantages import masked_mean
from llmlab.rlhf.logprobs import response_logprobs, sequence_logprob
from llmlab.rlhf.losses import group_advantages, kl_penalty, ppo_policy_loss
from llmlab.rlhf.reward_model import RewardModel
from llmlab.rlhf.rollout import Rollout, rollout, score, true_scores
from llmlab.train import train_step


@dataclass(frozen=True)
class GRPOConfig:
    steps: int = 60
    prompts_per_step: int = 8
    group_size: int = 8
    """Responses sampled per prompt."""
    minibatch_size: int = 16
    epochs: int = 2
    lr: float = 3e-4
    beta: float = 0.05
    """Weight of the k3 KL term in the loss."""
    clip_eps: float = 0.2
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise ValueError(f"group_size={self.group_size} must be >= 2")
        if (self.prompts_per_step * self.group_size) % self.minibatch_size:
            raise ValueError(
                f"prompts_per_step × group_size = "
                f"{self.prompts_per_step * self.group_size} must be a multiple of "
                f"minibatch_size={self.minibatch_size}"
            )


def group_rollout(
    policy: nn.Module, reference: nn.Module, config: GRPOConfig, *, generator
) -> Rollout:
    """``group_size`` responses to each of ``prompts_per_step`` prompts, adjacent."""
    prompts = task.sample_prompts(config.prompts_per_step, generator=generator)
    prompts = prompts.repeat_interleave(config.group_size, dim=0)  # (G·n, P)
    return rollout(policy, reference, prompts, generator=generator)


def grpo_loss(
    policy: nn.Module, minibatch: tuple, *, config: GRPOConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped surrogate with per-sequence advantages + β · mean k3 KL."""
    ids, mask, old_logprobs, ref_logprobs, advantages = minibatch
    logprobs, _ = response_logprobs(policy, ids, mask)
    token_advantages = advantages[:, None].expand_as(logprobs)  # (B,) -> (B, T)
    policy_loss, stats = ppo_policy_loss(
        logprobs, old_logprobs, token_advantages, mask, clip_eps=config.clip_eps
    )
    kl = masked_mean(kl_penalty(logprobs, ref_logprobs, kind="k3"), mask)
    return policy_loss + config.beta * kl, {**stats, "kl_term": kl.item()}


def grpo_update(
    policy: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Rollout,
    advantages: torch.Tensor,
    config: GRPOConfig,
    *,
    generator: torch.Generator,
) -> None:
    """``epochs`` passes over the groups' responses in shuffled minibatches."""
    policy.train()
    tensors = (batch.ids, batch.mask, batch.logprobs, batch.ref_logprobs, advantages)
    loss_fn = partial(grpo_loss, config=config)
    for _ in range(config.epochs):
        order = torch.randperm(len(batch.ids), generator=generator)
        for part in order.split(config.minibatch_size):
            minibatch = tuple(x[part] for x in tensors)
            train_step(
                policy, [minibatch], loss_fn, optimizer, grad_clip=config.grad_clip
            )


def train_grpo(
    policy: nn.Module,
    reference: nn.Module,
    reward_model: RewardModel,
    config: GRPOConfig,
    *,
    generator: torch.Generator,
) -> list[dict[str, float]]:
    """Optimise ``policy`` in place; one metrics row per step."""
    optimizer = torch.optim.AdamW(policy.parameters(), lr=config.lr, weight_decay=0.0)
    history = []
    for _ in range(config.steps):
        started = time.perf_counter()
        batch = group_rollout(policy, reference, config, generator=generator)
        scores = score(reward_model, batch)
        advantages = group_advantages(scores, group_size=config.group_size)
        grpo_update(policy, optimizer, batch, advantages, config, generator=generator)
        kl = kl_penalty(batch.logprobs, batch.ref_logprobs, kind="k1")
        history.append({
            "rm_score": scores.mean().item(),
            "true_score": true_scores(batch).mean().item(),
            "kl": sequence_logprob(kl, batch.mask).mean().item(),
            "seconds": time.perf_counter() - started,
        })  # fmt: skip
    return history
