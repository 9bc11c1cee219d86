"""Masked statistics and generalised advantage estimation (GAE) over token sequences.

In RLHF a batch holds prompt tokens, response tokens and padding side by side, so
every average must skip what is not a response token: ``mask`` (B, T) bool marks
the tokens that count. ``gae`` turns per-token rewards and value estimates into
advantages (how much better each action was than the value model expected) and
returns (the value model's regression targets), Schulman et al. 2015,
arXiv:1506.02438.

Differs from the paper in: episodes are rows of a padded batch; masked-out slots
are skipped (they neither receive nor pass on credit), so padding may sit on either
side of a response.

Taught in: chapters/15_ppo.ipynb
"""

from __future__ import annotations

import torch


def _check_mask(x: torch.Tensor, mask: torch.Tensor) -> None:
    if mask.shape != x.shape:
        raise ValueError(
            f"mask shape {tuple(mask.shape)} != values shape {tuple(x.shape)}"
        )
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool, got {mask.dtype}")


def masked_sum(
    x: torch.Tensor, mask: torch.Tensor, dim: int | None = None
) -> torch.Tensor:
    """Sum of ``x`` where ``mask`` is True (all of it, or along ``dim``)."""
    _check_mask(x, mask)
    zeroed = torch.where(mask, x, torch.zeros_like(x))
    return zeroed.sum() if dim is None else zeroed.sum(dim)


def masked_mean(
    x: torch.Tensor, mask: torch.Tensor, dim: int | None = None
) -> torch.Tensor:
    """Mean of ``x`` over the True entries of ``mask`` (all, or along ``dim``).

    Example: x = [[1, 2, 9]], mask = [[T, T, F]] -> 1.5. A row (or batch) with no
    True entry raises an error rather than returning NaN.
    """
    count = mask.sum() if dim is None else mask.sum(dim)
    if (count == 0).any():
        raise ValueError("masked_mean: the mask selects no entries")
    return masked_sum(x, mask, dim) / count


def masked_var(
    x: torch.Tensor, mask: torch.Tensor, *, unbiased: bool = True
) -> torch.Tensor:
    """Variance of the True entries of ``mask`` (Bessel-corrected by default)."""
    mean = masked_mean(x, mask)
    count = mask.sum()
    if unbiased and count < 2:
        raise ValueError("masked_var: an unbiased variance needs >= 2 entries")
    squares = masked_sum((x - mean) ** 2, mask)
    return squares / (count - 1 if unbiased else count)


def masked_whiten(
    x: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Scale ``x`` to unit variance over the mask (and zero mean if ``shift_mean``).

    Masked-out entries come back as 0. Used to normalise advantages across a batch.
    """
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    whitened = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return torch.where(mask, whitened, torch.zeros_like(whitened))


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    gamma: float,
    lam: float,
    next_value: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns, both (B, T), zero where ``mask`` is False.

    rewards, values: (B, T) float; mask: (B, T) bool, True on the steps of each
    row's episode. ``next_value`` (B,) is the value of the state after each row's
    last step: pass it when the episode was cut short (bootstrapping); None means
    every episode ended (the value after the end is 0).

    δ_t = r_t + γ V_{t+1} − V_t and A_t = δ_t + γ λ A_{t+1}, computed backwards.
    Example (one row, γ = λ = 1, no bootstrap): r = [0, 0, 1], V = [.5, .5, .5]
    -> δ = [0, 0, .5], A = [.5, .5, .5], returns = [1, 1, 1].
    """
    _check_mask(rewards, mask)
    _check_mask(values, mask)
    B, T = rewards.shape
    zeros = torch.zeros(B, dtype=values.dtype, device=values.device)
    after = zeros if next_value is None else next_value.to(values.dtype)
    if after.shape != (B,):
        raise ValueError(f"next_value must be (B,)=({B},), got {tuple(after.shape)}")
    advantages = torch.zeros_like(values)
    next_advantage = zeros
    for t in reversed(range(T)):
        real = mask[:, t]
        delta = rewards[:, t] + gamma * after - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        advantages[:, t] = torch.where(real, advantage, zeros)
        # Padding passes the later step's value and advantage through unchanged.
        next_advantage = torch.where(real, advantage, next_advantage)
        after = torch.where(real, values[:, t], after)
    returns = torch.where(mask, advantages + values, torch.zeros_like(values))
    return advantages, returns
