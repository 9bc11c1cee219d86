"""PPO with a per-token KL penalty against the frozen SFT model (RLHF as in Ziegler
et al. 2019, arXiv:1909.08593, and Ouyang et al. 2022, arXiv:2203.02155).

One step: ``rollout`` (sample responses, record log-probs and values) → ``score``
(the reward model) → ``shape_rewards`` (r − β·KL per token, the score on the last
token) → ``compute_advantages`` (GAE, whitened) → ``ppo_update`` (K epochs of
minibatch updates of the clipped surrogate, the clipped value loss and an entropy
bonus). ``adapt_beta`` is Ziegler et al.'s proportional controller that steers the
KL toward a target.

Differs from the papers in: a separate value model initialised from the reward
model (as InstructGPT), one optimizer for policy and value, no pretraining-loss
mix (PPO-ptx), and the true score is logged at every step because the task has one.

Taught in: chapters/15_ppo.ipynb
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from llmlab.rlhf import task
from llmlab.rlhf.advantages import gae, masked_mean, masked_whiten
from llmlab.rlhf.logprobs import response_logprobs, sequence_logprob
from llmlab.rlhf.losses import entropy, kl_penalty, ppo_policy_loss, ppo_value_loss
from llmlab.rlhf.reward_model import RewardModel, values_for_tokens
from llmlab.rlhf.rollout import Rollout, rollout, score, true_scores
from llmlab.train import train_step


@dataclass(frozen=True)
class PPOConfig:
    steps: int = 60
    """Rollouts (each followed by `epochs` passes of updates)."""
    batch_size: int = 64
    """Prompts per rollout."""
    minibatch_size: int = 16
    epochs: int = 4
    """Passes over each rollout."""
    lr: float = 3e-4
    beta: float = 0.1
    """Weight of the per-token KL penalty (the starting value if adaptive)."""
    target_kl: float | None = None
    """If set, adapt β so the per-response KL approaches this (Ziegler et al.)."""
    kl_horizon: int = 2000
    """Responses over which the adaptive controller closes the KL gap."""
    kl_kind: str = "k1"
    clip_eps: float = 0.2
    value_clip_eps: float | None = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    gamma: float = 1.0
    lam: float = 0.95
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.batch_size % self.minibatch_size:
            raise ValueError(
                f"batch_size={self.batch_size} must be a multiple of "
                f"minibatch_size={self.minibatch_size}"
            )
        if self.beta < 0:
            raise ValueError(f"beta={self.beta} must be >= 0")


def shape_rewards(
    scores: torch.Tensor, batch: Rollout, *, beta: float, kind: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards (B, T): −β·KL on every response token, plus the reward
    model's score (B,) on the last one. Returns (rewards, kl) with kl (B, T)."""
    kl = kl_penalty(batch.logprobs, batch.ref_logprobs, kind=kind) * batch.mask
    rewards = -beta * kl
    T = batch.mask.shape[1]
    last = T - 1 - batch.mask.flip(1).float().argmax(1)  # (B,) last response token
    rewards[torch.arange(len(scores)), last] += scores
    return rewards, kl


def compute_advantages(
    rewards: torch.Tensor, batch: Rollout, config: PPOConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE advantages (whitened over the batch) and returns, both (B, T)."""
    advantages, returns = gae(
        rewards, batch.values, batch.mask, gamma=config.gamma, lam=config.lam
    )
    return masked_whiten(advantages, batch.mask), returns


def ppo_loss(
    models: nn.ModuleDict, minibatch: tuple, *, config: PPOConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped surrogate + vf_coef · clipped value loss − ent_coef · entropy."""
    ids, mask, old_logprobs, old_values, advantages, returns = minibatch
    logprobs, logits = response_logprobs(models["policy"], ids, mask)
    policy_loss, stats = ppo_policy_loss(
        logprobs, old_logprobs, advantages, mask, clip_eps=config.clip_eps
    )
    values = values_for_tokens(models["value"], ids)
    value_loss = ppo_value_loss(
        values, old_values, returns, mask, clip_eps=config.value_clip_eps
    )
    mean_entropy = masked_mean(entropy(logits), mask)
    loss = policy_loss + config.vf_coef * value_loss - config.ent_coef * mean_entropy
    return loss, {
        **stats,
        "value_loss": value_loss.item(),
        "entropy": mean_entropy.item(),
    }


def ppo_update(
    models: nn.ModuleDict,
    optimizer: torch.optim.Optimizer,
    batch: Rollout,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    config: PPOConfig,
    *,
    generator: torch.Generator,
) -> dict[str, float]:
    """``epochs`` passes over the rollout in shuffled minibatches; mean metrics."""
    models.train()
    tensors = (batch.ids, batch.mask, batch.logprobs, batch.values, advantages, returns)
    loss_fn = partial(ppo_loss, config=config)
    rows = []
    for _ in range(config.epochs):
        order = torch.randperm(len(batch.ids), generator=generator)
        for part in order.split(config.minibatch_size):
            minibatch = tuple(x[part] for x in tensors)
            rows.append(
                train_step(
                    models, [minibatch], loss_fn, optimizer, grad_clip=config.grad_clip
                )
            )
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}


def adapt_beta(beta: float, kl: float, config: PPOConfig) -> float:
    """Ziegler et al.'s controller, applied after each rollout of B responses:
    β ← β (1 + clip(KL/target − 1, −0.2, 0.2) · B / horizon)."""
    if config.target_kl is None:
        return beta
    error = min(max(kl / config.target_kl - 1, -0.2), 0.2)
    return beta * (1 + error * config.batch_size / config.kl_horizon)


def train_ppo(
    policy: nn.Module,
    value_model: RewardModel,
    reference: nn.Module,
    reward_model: RewardModel,
    config: PPOConfig,
    *,
    generator: torch.Generator,
) -> list[dict[str, float]]:
    """Optimise ``policy`` (and ``value_model``) in place; one metrics row per step."""
    models = nn.ModuleDict({"policy": policy, "value": value_model})
    optimizer = torch.optim.AdamW(models.parameters(), lr=config.lr, weight_decay=0.0)
    beta, history = config.beta, []
    for _ in range(config.steps):
        started = time.perf_counter()
        prompts = task.sample_prompts(config.batch_size, generator=generator)
        batch = rollout(
            policy, reference, prompts, generator=generator, value_model=value_model
        )
        sampled = time.perf_counter()
        scores = score(reward_model, batch)
        scored = time.perf_counter()
        rewards, kl = shape_rewards(scores, batch, beta=beta, kind=config.kl_kind)
        advantages, returns = compute_advantages(rewards, batch, config)
        stats = ppo_update(
            models, optimizer, batch, advantages, returns, config, generator=generator
        )
        kl_per_response = sequence_logprob(kl, batch.mask).mean().item()
        history.append({
            "rm_score": scores.mean().item(),
            "true_score": true_scores(batch).mean().item(),
            "kl": kl_per_response,
            "beta": beta,
            **stats,
            "rollout_s": sampled - started,
            "score_s": scored - sampled,
            "update_s": time.perf_counter() - scored,
        })  # fmt: skip
        beta = adapt_beta(beta, kl_per_response, config)
    return history
