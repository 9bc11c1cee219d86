"""Checkers for chapter 15, PPO with a KL penalty."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise
from llmlab.rlhf.advantages import gae
from llmlab.rlhf.losses import ppo_policy_loss


@exercise("discounted_returns")
def verify_discounted_returns(fn) -> None:
    """``discounted_returns(rewards, gamma)``: (T,) -> (T,) with
    G_t = r_t + γ G_{t+1}, G after the end = 0."""
    g = torch.Generator().manual_seed(15)
    for gamma in (1.0, 0.9, 0.0):
        rewards = torch.randn(6, generator=g)
        mask = torch.ones(1, 6, dtype=torch.bool)
        _, want = gae(rewards[None], torch.zeros(1, 6), mask, gamma=gamma, lam=1.0)
        got = fn(rewards.clone(), gamma)
        assert torch.allclose(torch.as_tensor(got), want[0], atol=1e-5), (
            f"gamma={gamma}: got {got}, want {want[0]}"
        )


@exercise("clipped_objective")
def verify_clipped_objective(fn) -> None:
    """``clipped_objective(ratio, advantage, eps)``: elementwise PPO objective to
    *maximise*, min(ρA, clip(ρ, 1−ε, 1+ε)A); tensors of equal shape."""
    ratio = torch.tensor([0.5, 0.9, 1.0, 1.1, 1.5, 0.5, 1.5, 1.3])
    advantage = torch.tensor([1.0, 1.0, 2.0, -1.0, 1.0, -1.0, -1.0, 0.0])
    for eps in (0.2, 0.05):
        got = fn(ratio.clone(), advantage.clone(), eps)
        want = []
        for r, a in zip(ratio, advantage):
            loss, _ = ppo_policy_loss(
                r.log().view(1, 1),
                torch.zeros(1, 1),
                a.view(1, 1),
                torch.ones(1, 1, dtype=torch.bool),
                clip_eps=eps,
            )
            want.append(-loss)
        want = torch.stack(want)
        assert torch.allclose(got, want, atol=1e-6), (
            f"eps={eps}: ratio {ratio.tolist()}, advantage {advantage.tolist()}: "
            f"got {got.tolist()}, want {want.tolist()}"
        )


@exercise("token_rewards")
def verify_token_rewards(fn) -> None:
    """``token_rewards(score, logprobs, ref_logprobs, beta)``: one response of T
    tokens -> (T,) rewards −β(logprobs − ref_logprobs), plus ``score`` on the last."""
    g = torch.Generator().manual_seed(16)
    for T, beta in ((1, 0.1), (5, 0.0), (7, 0.5)):
        logp, ref = -torch.rand(T, generator=g) * 3, -torch.rand(T, generator=g) * 3
        want = -beta * (logp - ref)
        want[-1] += 2.5
        got = fn(2.5, logp.clone(), ref.clone(), beta)
        assert torch.allclose(torch.as_tensor(got), want, atol=1e-6), (
            f"T={T}, beta={beta}: got {got}, want {want}"
        )
