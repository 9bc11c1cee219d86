"""The losses of RLHF as pure tensor functions: PPO (policy and value), KL
estimators, entropy, Bradley–Terry, DPO, and GRPO's group-relative advantages.

Every per-token function takes a ``mask`` (B, T) bool that marks the response
tokens; prompt tokens and padding never contribute to a loss.

References: PPO, Schulman et al. 2017 (arXiv:1707.06347); KL estimators k1/k2/k3,
J. Schulman, "Approximating KL divergence" (2020, joschu.net/blog/kl-approx.html);
Bradley–Terry reward models, Ouyang et al. 2022 (arXiv:2203.02155); DPO, Rafailov
et al. 2023 (arXiv:2305.18290); GRPO, Shao et al. 2024 (arXiv:2402.03300).

Differs from the papers in: losses are averaged over all response tokens of the
batch (one token, one vote), not per sequence first.

Taught in: chapters/14_reward_model.ipynb, chapters/15_ppo.ipynb,
chapters/16_dpo_grpo.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmlab.rlhf.advantages import masked_mean

KL_KINDS = ("k1", "k2", "k3")


def ppo_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_eps: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO's clipped surrogate, negated to be minimised.

    All inputs (B, T). With ratio ρ = exp(logprobs − old_logprobs), each token's
    loss is max(−A ρ, −A clip(ρ, 1 − ε, 1 + ε)): the pessimistic of the two, so a
    step gains nothing by moving ρ past the clip in the advantage's direction.
    Example: A = 1, ρ = 1.5, ε = 0.2 -> loss −1.2 (clipped, zero gradient);
    A = −1, ρ = 1.5 -> loss 1.5 (unclipped: bad moves are always undone).
    Returns (loss, {"clip_fraction", "approx_kl"}).
    """
    if clip_eps <= 0:
        raise ValueError(f"clip_eps={clip_eps} must be > 0")
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped > unclipped).float(), mask)
        approx_kl = masked_mean(kl_penalty(logprobs, old_logprobs, kind="k3"), mask)
    return loss, {"clip_fraction": clip_fraction.item(), "approx_kl": approx_kl.item()}


def ppo_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_eps: float | None,
) -> torch.Tensor:
    """½ · masked mean of the squared error to ``returns``; all inputs (B, T).

    With ``clip_eps``, the prediction may move at most ε from ``old_values`` per
    rollout, and the larger of the clipped and unclipped errors counts (as in the
    PPO implementations of OpenAI baselines). Example: old V = 0, V = 1, R = 1,
    ε = 0.2 -> clipped prediction 0.2, loss ½ · 0.64 = 0.32.
    """
    error = (values - returns) ** 2
    if clip_eps is not None:
        moved = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
        error = torch.maximum(error, (moved - returns) ** 2)
    return 0.5 * masked_mean(error, mask)


def kl_penalty(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, *, kind: str = "k1"
) -> torch.Tensor:
    """Per-token estimate of KL(policy ‖ reference) from tokens sampled by the policy.

    With d = logprobs − ref_logprobs (log π(x) − log π_ref(x)), (B, T) -> (B, T):
    k1 = d (unbiased, can be negative), k2 = ½ d² (biased, low variance),
    k3 = exp(−d) − 1 + d (unbiased, never negative). Example: d = log 2 ->
    k1 = 0.693, k2 = 0.240, k3 = 0.193.
    """
    if kind not in KL_KINDS:
        raise ValueError(f"kind={kind!r} must be one of {KL_KINDS}")
    d = logprobs - ref_logprobs
    if kind == "k1":
        return d
    if kind == "k2":
        return 0.5 * d**2
    return torch.expm1(-d) + d


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the softmax of each row of ``logits``: (..., V) -> (...)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def bradley_terry_loss(
    chosen: torch.Tensor, rejected: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reward-model loss: −log σ(r_chosen − r_rejected), averaged; inputs (B,).

    Under the Bradley–Terry model P(chosen ≻ rejected) = σ(r_c − r_r). Returns
    (loss, accuracy) with accuracy the fraction of pairs with r_c > r_r. Example:
    r_c = 1, r_r = 0 -> loss log(1 + e⁻¹) = 0.3133.
    """
    if chosen.shape != rejected.shape:
        raise ValueError(
            f"chosen {tuple(chosen.shape)} and rejected {tuple(rejected.shape)} "
            "must have the same shape"
        )
    margin = chosen - rejected
    return -F.logsigmoid(margin).mean(), (margin > 0).float().mean()


def dpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Direct preference optimisation loss; every input is (B,) summed response
    log-probabilities under the policy or the frozen reference.

    The implicit reward of a response is β (log π − log π_ref); the loss is the
    Bradley–Terry loss on the difference of implicit rewards. Example: policy
    raised the chosen log-prob by 1 and left the rejected one, β = 0.5 -> loss
    −log σ(0.5) = 0.4741. Returns (loss, {"reward_margin", "accuracy"}).
    """
    if beta <= 0:
        raise ValueError(f"beta={beta} must be > 0")
    chosen_reward = beta * (chosen_logps - ref_chosen_logps)
    rejected_reward = beta * (rejected_logps - ref_rejected_logps)
    loss, accuracy = bradley_terry_loss(chosen_reward, rejected_reward)
    margin = (chosen_reward - rejected_reward).mean()
    return loss, {"reward_margin": margin.item(), "accuracy": accuracy.item()}


def group_advantages(
    rewards: torch.Tensor, *, group_size: int, scale: bool = True, eps: float = 1e-6
) -> torch.Tensor:
    """GRPO's advantages: each reward minus the mean of its group, divided by the
    group's standard deviation (when ``scale``). rewards: (B,) with B = G · group_size
    and each group's responses adjacent -> (B,).

    Example: group_size = 2, rewards [1, 3, 5, 5] -> [−0.707, 0.707, 0, 0]
    (the std is Bessel-corrected: std(1, 3) = 1.414; equal rewards give 0).
    """
    if group_size < 2 or rewards.dim() != 1 or rewards.numel() % group_size:
        raise ValueError(
            f"rewards of shape {tuple(rewards.shape)} cannot form groups of "
            f"group_size={group_size} (need 1-D, size a multiple, group_size >= 2)"
        )
    groups = rewards.view(-1, group_size)  # (G, group_size)
    centred = groups - groups.mean(dim=1, keepdim=True)
    if scale:
        centred = centred / (groups.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)  # (B,)
