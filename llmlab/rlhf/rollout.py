"""Rollouts: let the policy answer a batch of prompts, and record what PPO and GRPO
need to learn from the answers.

For every response token the rollout keeps its log-probability under the policy
that sampled it (the "old" policy of PPO's ratio), under the frozen reference
(for the KL penalty), and the value model's estimate of the state it was chosen
in. All tensors are aligned with ``ids``: column t describes token t.

Differs from production RLHF in: generation and scoring run in the same process
as training, with the same weights (no separate inference server to sync).

Taught in: chapters/15_ppo.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from llmlab.generate import SamplingConfig, generate, generate_plain
from llmlab.rlhf import task
from llmlab.rlhf.logprobs import response_logprobs, sequence_logprob
from llmlab.rlhf.losses import kl_penalty
from llmlab.rlhf.reward_model import RewardModel, values_for_tokens


@dataclass
class Rollout:
    """One batch of sampled responses; every tensor (B, T) unless noted."""

    prompts: torch.Tensor
    """(B, P) the prompts answered."""
    ids: torch.Tensor
    """Prompt + response, padding after each response's <end>."""
    mask: torch.Tensor
    """True on response tokens (up to and including <end>)."""
    logprobs: torch.Tensor
    """log π_old(token) under the policy that sampled it."""
    ref_logprobs: torch.Tensor
    """log π_ref(token) under the frozen reference."""
    values: torch.Tensor | None = None
    """V(state before each token), from the value model (PPO only)."""


@torch.no_grad()
def generate_responses(
    policy: nn.Module,
    prompts: torch.Tensor,
    *,
    generator: torch.Generator,
    temperature: float = 1.0,
    use_cache: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample one response per prompt -> (ids, mask), both (B, T) in chat layout.

    Rows stop at <end> (``llmlab.generate``'s cached engine, or the plain loop that
    recomputes every prefix when ``use_cache`` is False: same tokens, slower).
    """
    policy.eval()
    run = generate if use_cache else generate_plain
    new = run(
        policy,
        prompts.tolist(),
        max_new_tokens=task.RESPONSE_LEN,
        sampling=SamplingConfig(temperature=temperature),
        generator=generator,
        stop_tokens={task.END},
    )
    responses = torch.full((len(prompts), task.RESPONSE_LEN), task.PAD)
    for row, tokens in enumerate(new):
        responses[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
    return task.render(prompts, responses)


@torch.no_grad()
def rollout(
    policy: nn.Module,
    reference: nn.Module,
    prompts: torch.Tensor,
    *,
    generator: torch.Generator,
    value_model: RewardModel | None = None,
) -> Rollout:
    """Sample responses to ``prompts`` and record log-probs (and values)."""
    ids, mask = generate_responses(policy, prompts, generator=generator)
    logprobs, _ = response_logprobs(policy, ids, mask)
    ref_logprobs, _ = response_logprobs(reference.eval(), ids, mask)
    values = None
    if value_model is not None:
        values = values_for_tokens(value_model.eval(), ids) * mask
    return Rollout(prompts, ids, mask, logprobs, ref_logprobs, values)


@torch.no_grad()
def score(reward_model: RewardModel, batch: Rollout) -> torch.Tensor:
    """The reward model's score of each response -> (B,)."""
    return reward_model.eval().score(batch.ids, batch.mask)


def true_scores(batch: Rollout) -> torch.Tensor:
    """The hidden ground truth of each response -> (B,). For measuring only: it
    never reaches a loss."""
    P = batch.prompts.shape[1]
    return task.true_score(batch.prompts, batch.ids[:, P:])


@torch.no_grad()
def evaluate_policy(
    policy: nn.Module,
    reference: nn.Module,
    reward_model: RewardModel,
    prompts: torch.Tensor,
    *,
    generator: torch.Generator,
) -> dict[str, float]:
    """Mean true score, reward-model score and KL(policy ‖ reference) per response
    (sum over its tokens of the k1 estimate) on fresh samples of ``prompts``."""
    batch = rollout(policy, reference, prompts, generator=generator)
    kl = kl_penalty(batch.logprobs, batch.ref_logprobs, kind="k1")
    return {
        "true_score": true_scores(batch).mean().item(),
        "rm_score": score(reward_model, batch).mean().item(),
        "kl": sequence_logprob(kl, batch.mask).mean().item(),
        "length": batch.mask.sum(1).float().mean().item(),
    }
