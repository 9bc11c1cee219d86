"""Direct preference optimisation: learn from preference pairs without a reward
model or sampling (Rafailov et al. 2023, arXiv:2305.18290).

The optimal policy of the KL-penalised RLHF objective satisfies
r(x, y) = β log π(y|x)/π_ref(y|x) + const, so the policy's own log-ratio acts as
an implicit reward, and the Bradley–Terry loss on pairs trains the policy
directly (``llmlab.rlhf.losses.dpo_loss``). The reference's log-probabilities are
computed once, before training.

Differs from the paper in: the policy and reference are the course's tiny SFT
model; pairs come from the demonstration distribution, not from the SFT policy.

Taught in: chapters/16_dpo_grpo.ipynb
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from llmlab.rlhf.logprobs import response_logprobs, sequence_logprob
from llmlab.rlhf.losses import dpo_loss
from llmlab.rlhf.reward_model import Pairs
from llmlab.train import train_step


@dataclass(frozen=True)
class DPOConfig:
    steps: int = 200
    batch_size: int = 64
    """Preference pairs per step."""
    lr: float = 3e-4
    beta: float = 0.1
    """Strength of the implicit KL constraint (β of the RLHF objective)."""
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.beta <= 0 or self.steps < 1 or self.batch_size < 1:
            raise ValueError(
                f"beta={self.beta} must be > 0, steps={self.steps} and "
                f"batch_size={self.batch_size} >= 1"
            )


def sequence_logprobs(
    model: nn.Module, ids: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """(B, T) ids and response mask -> (B,) log π(response | prompt)."""
    logprobs, _ = response_logprobs(model, ids, mask)
    return sequence_logprob(logprobs, mask)


def dpo_batch_loss(
    policy: nn.Module, batch: tuple, *, beta: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """batch: (chosen_ids, chosen_mask, rejected_ids, rejected_mask, ref_chosen,
    ref_rejected) with the reference log-probs (B,) precomputed."""
    chosen_ids, chosen_mask, rejected_ids, rejected_mask, ref_c, ref_r = batch
    ids = torch.cat([chosen_ids, rejected_ids])  # (2B, T): one forward pass
    logps = sequence_logprobs(policy, ids, torch.cat([chosen_mask, rejected_mask]))
    chosen, rejected = logps.chunk(2)
    return dpo_loss(chosen, rejected, ref_c, ref_r, beta=beta)


def train_dpo(
    policy: nn.Module,
    reference: nn.Module,
    pairs: Pairs,
    config: DPOConfig,
    *,
    generator: torch.Generator,
) -> list[dict[str, float]]:
    """Train ``policy`` in place on preference pairs; one metrics row per step."""
    chosen_ids, chosen_mask, rejected_ids, rejected_mask = pairs
    with torch.no_grad():
        reference.eval()
        ref_chosen = sequence_logprobs(reference, chosen_ids, chosen_mask)
        ref_rejected = sequence_logprobs(reference, rejected_ids, rejected_mask)
    data = (*pairs, ref_chosen, ref_rejected)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=config.lr, weight_decay=0.0)
    loss_fn = partial(dpo_batch_loss, beta=config.beta)
    policy.train()
    history = []
    for _ in range(config.steps):
        started = time.perf_counter()
        rows = torch.randint(len(chosen_ids), (config.batch_size,), generator=generator)
        batch = tuple(x[rows] for x in data)
        clip = config.grad_clip
        stats = train_step(policy, [batch], loss_fn, optimizer, grad_clip=clip)
        history.append({**stats, "seconds": time.perf_counter() - started})
    return history
