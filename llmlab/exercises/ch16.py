"""Checkers for chapter 16, DPO and GRPO."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise


@exercise("ipo_loss")
def verify_ipo_loss(fn) -> None:
    """``ipo_loss(chosen, rejected, ref_chosen, ref_rejected, tau)``: IPO (Azar et al.
    2023, arXiv:2310.12036), mean of (h − 1/(2τ))² with h the difference of the
    chosen and rejected log-ratios; inputs (N,) sequence log-probs."""
    g = torch.Generator().manual_seed(16)
    c, r, rc, rr = (-torch.rand(8, generator=g) * 10 for _ in range(4))
    for tau in (0.1, 1.0):
        h = (c - rc) - (r - rr)
        want = ((h - 1 / (2 * tau)) ** 2).mean()
        got = fn(c.clone(), r.clone(), rc.clone(), rr.clone(), tau)
        assert torch.allclose(got, want, atol=1e-5), (
            f"tau={tau}: got {got}, want {want}"
        )


@exercise("leave_one_out_advantages")
def verify_leave_one_out(fn) -> None:
    """``leave_one_out_advantages(rewards, group_size)``: RLOO (Ahmadian et al.
    2024, arXiv:2402.14740): each reward minus the mean of the *other* rewards of
    its group; rewards (B,) with groups adjacent -> (B,)."""
    g = torch.Generator().manual_seed(17)
    for k in (2, 4):
        rewards = torch.randn(3 * k, generator=g)
        groups = rewards.view(3, k)
        others = (groups.sum(1, keepdim=True) - groups) / (k - 1)
        want = (groups - others).reshape(-1)
        got = fn(rewards.clone(), k)
        assert torch.allclose(got, want, atol=1e-5), f"k={k}: got {got}, want {want}"


@exercise("win_rate")
def verify_win_rate(fn) -> None:
    """``win_rate(scores_a, scores_b)``: (N,) true scores of two policies on the same
    prompts -> fraction of prompts where a beats b, ties counting one half."""
    a = torch.tensor([1.0, 2.0, 3.0, 0.0, 5.0])
    b = torch.tensor([0.0, 2.0, 4.0, 0.0, 1.0])
    got = float(fn(a.clone(), b.clone()))
    assert abs(got - 0.6) < 1e-6, f"got {got}, want 0.6 (2 wins, 2 ties, 1 loss)"
    g = torch.Generator().manual_seed(18)
    a, b = torch.randint(3, (50,), generator=g), torch.randint(3, (50,), generator=g)
    want = ((a > b).float() + 0.5 * (a == b).float()).mean().item()
    got = float(fn(a.float(), b.float()))
    assert abs(got - want) < 1e-6, f"got {got}, want {want}"
