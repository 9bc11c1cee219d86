"""Alignment: supervised fine-tuning, reward models, PPO with a KL penalty, DPO, GRPO.

The losses, advantages and log-prob helpers are pure tensor functions with masks,
usable outside the course; the trainers compose them."""

from llmlab.rlhf.advantages import (
    gae,
    masked_mean,
    masked_sum,
    masked_var,
    masked_whiten,
)
from llmlab.rlhf.logprobs import gather_logprobs, response_logprobs, sequence_logprob
from llmlab.rlhf.losses import (
    bradley_terry_loss,
    dpo_loss,
    entropy,
    group_advantages,
    kl_penalty,
    ppo_policy_loss,
    ppo_value_loss,
)

__all__ = [
    "bradley_terry_loss",
    "dpo_loss",
    "entropy",
    "gae",
    "gather_logprobs",
    "group_advantages",
    "kl_penalty",
    "masked_mean",
    "masked_sum",
    "masked_var",
    "masked_whiten",
    "ppo_policy_loss",
    "ppo_value_loss",
    "response_logprobs",
    "sequence_logprob",
]
