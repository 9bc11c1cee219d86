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
from llmlab.rlhf.dpo import DPOConfig, train_dpo
from llmlab.rlhf.grpo import GRPOConfig, train_grpo
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
from llmlab.rlhf.ppo import PPOConfig, train_ppo
from llmlab.rlhf.reward_model import (
    RewardConfig,
    RewardModel,
    reward_accuracy,
    train_reward_model,
)
from llmlab.rlhf.rollout import Rollout, evaluate_policy, rollout
from llmlab.rlhf.sft import SFTConfig, sft_loss, train_sft

__all__ = [
    "DPOConfig",
    "GRPOConfig",
    "PPOConfig",
    "RewardConfig",
    "RewardModel",
    "Rollout",
    "SFTConfig",
    "evaluate_policy",
    "reward_accuracy",
    "rollout",
    "sft_loss",
    "train_dpo",
    "train_grpo",
    "train_ppo",
    "train_reward_model",
    "train_sft",
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
