import copy

import pytest
import torch

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.ppo import PPOConfig, adapt_beta, shape_rewards, train_ppo
from llmlab.rlhf.reward_model import RewardModel
from llmlab.rlhf.rollout import Rollout

GREAT = task.encode("great")[0]


def test_shape_rewards_puts_the_score_on_the_last_response_token() -> None:
    mask = torch.tensor([[False, True, True, False], [False, True, True, True]])
    logprobs = torch.tensor([[0.0, -1.0, -2.0, 0.0], [0.0, -1.0, -1.0, -1.0]])
    ref = torch.tensor([[0.0, -1.5, -1.0, 0.0], [0.0, -1.0, -2.0, -1.0]])
    batch = Rollout(torch.zeros(2, 1), torch.zeros(2, 4), mask, logprobs, ref)
    rewards, kl = shape_rewards(torch.tensor([3.0, 5.0]), batch, beta=0.1, kind="k1")
    # k1 = logprobs − ref on the mask: row 0: [.5, −1], row 1: [0, 1, 0]
    want_kl = torch.tensor([[0, 0.5, -1, 0], [0, 0, 1, 0]])
    want_rewards = torch.tensor([[0, -0.05, 0.1 + 3, 0], [0, 0, -0.1, 5.0]])
    assert torch.allclose(kl, want_kl) and torch.allclose(rewards, want_rewards)


def test_adapt_beta_moves_toward_the_target_kl() -> None:
    config = PPOConfig(batch_size=64, target_kl=2.0, kl_horizon=640)
    assert adapt_beta(0.1, 4.0, config) == pytest.approx(0.1 * (1 + 0.2 * 0.1))
    assert adapt_beta(0.1, 1.9, config) == pytest.approx(0.1 * (1 - 0.05 * 0.1))
    assert adapt_beta(0.1, 9.0, PPOConfig()) == 0.1  # no target: fixed β


class CountGreat(torch.nn.Module):
    """A toy reward: how many times the response says "great"."""

    def score(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return ((ids == GREAT) & mask).sum(1).float()


def test_short_ppo_run_raises_a_toy_reward() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG)
    reference = copy.deepcopy(policy).eval()
    value = RewardModel(task.MODEL_CONFIG)
    config = PPOConfig(
        steps=10, batch_size=32, minibatch_size=16, epochs=2, lr=1e-3, beta=0.01
    )
    g = torch.Generator().manual_seed(1)
    history = train_ppo(policy, value, reference, CountGreat(), config, generator=g)
    first = sum(row["rm_score"] for row in history[:2]) / 2
    last = sum(row["rm_score"] for row in history[-2:]) / 2
    assert last > first + 1.0, [round(row["rm_score"], 2) for row in history]
    assert history[-1]["kl"] > history[0]["kl"]  # it moved away from the reference


def test_adaptive_beta_rises_while_the_kl_is_above_target() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG)
    reference = GPT(task.MODEL_CONFIG).eval()  # a different model: KL far above 1e-3
    config = PPOConfig(
        steps=3, batch_size=16, minibatch_size=16, epochs=1, target_kl=1e-3
    )
    g = torch.Generator().manual_seed(1)
    history = train_ppo(
        policy, RewardModel(task.MODEL_CONFIG), reference, CountGreat(), config,
        generator=g,
    )  # fmt: skip
    betas = [row["beta"] for row in history]
    assert betas[0] == config.beta and betas[0] < betas[1] < betas[2], betas
