import copy

import pytest
import torch

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.advantages import masked_mean
from llmlab.rlhf.grpo import GRPOConfig, group_rollout, grpo_loss, train_grpo
from llmlab.rlhf.losses import kl_penalty, ppo_policy_loss

GREAT = task.encode("great")[0]


class CountGreat(torch.nn.Module):
    def score(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return ((ids == GREAT) & mask).sum(1).float()


def test_group_rollout_puts_each_prompts_answers_together() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG).eval()
    config = GRPOConfig(prompts_per_step=3, group_size=4, minibatch_size=4)
    g = torch.Generator().manual_seed(1)
    batch = group_rollout(policy, policy, config, generator=g)
    topics = batch.prompts[:, 1].view(3, 4)
    assert (topics == topics[:, :1]).all()
    assert not torch.equal(batch.ids[0], batch.ids[1])  # different samples


def test_grpo_loss_is_clipped_surrogate_plus_beta_k3() -> None:
    torch.manual_seed(0)
    policy, reference = GPT(task.MODEL_CONFIG), GPT(task.MODEL_CONFIG).eval()
    config = GRPOConfig(prompts_per_step=2, group_size=4, minibatch_size=8, beta=0.3)
    batch = group_rollout(
        policy, reference, config, generator=torch.Generator().manual_seed(1)
    )
    advantages = torch.linspace(-1, 1, 8)
    # pretend the samples came from a slightly different policy
    old = batch.logprobs + 0.1 * batch.mask
    minibatch = (batch.ids, batch.mask, old, batch.ref_logprobs, advantages)
    got, _ = grpo_loss(policy, minibatch, config=config)
    token_adv = advantages[:, None].expand_as(old)
    surrogate, _ = ppo_policy_loss(
        batch.logprobs, old, token_adv, batch.mask, clip_eps=0.2
    )
    kl = masked_mean(
        kl_penalty(batch.logprobs, batch.ref_logprobs, kind="k3"), batch.mask
    )
    assert got.item() == pytest.approx((surrogate + 0.3 * kl).item(), rel=1e-5)


def test_short_grpo_run_raises_a_toy_reward() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG)
    reference = copy.deepcopy(policy).eval()
    config = GRPOConfig(steps=10, prompts_per_step=4, group_size=8, lr=1e-3, beta=0.01)
    g = torch.Generator().manual_seed(1)
    history = train_grpo(policy, reference, CountGreat(), config, generator=g)
    first = sum(row["rm_score"] for row in history[:2]) / 2
    last = sum(row["rm_score"] for row in history[-2:]) / 2
    assert last > first + 1.0, [round(row["rm_score"], 2) for row in history]
