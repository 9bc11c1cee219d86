"""Checkers for chapter 06, pretraining."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise
from llmlab.train.schedule import lr_at


@exercise("cross_entropy_loss")
def verify_cross_entropy_loss(fn) -> None:
    """``cross_entropy_loss(logits, targets)``: mean of -log softmax(logits)[target]."""
    g = torch.Generator().manual_seed(6)
    cases = {
        "one row of three logits": (torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])),
        "uniform logits (loss = log V)": (
            torch.zeros(4, 10),
            torch.tensor([0, 3, 6, 9]),
        ),
        "a (B, T, V) batch": (
            torch.randn(2, 5, 7, generator=g),
            torch.randint(7, (2, 5), generator=g),
        ),
        "large logits (exp overflows float32 past 88)": (
            torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 500.0, 1000.0]]),
            torch.tensor([0, 1]),
        ),
    }
    for label, (logits, targets) in cases.items():
        got = fn(logits.clone(), targets.clone())
        assert isinstance(got, torch.Tensor), (
            f"{label}: expected a tensor, got {type(got)}"
        )
        assert got.dim() == 0, (
            f"{label}: expected a scalar, got shape {tuple(got.shape)}"
        )
        want = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
        )
        assert torch.isfinite(got), (
            f"{label}: got {got.item()}. Hint: with m the row maximum, "
            "log(sum(exp(z))) = m + log(sum(exp(z - m))) stays finite."
        )
        assert torch.allclose(got, want, atol=1e-5), (
            f"{label}: got {got.item():.6f}, want {want.item():.6f}"
        )


@exercise("adamw_step")
def verify_adamw_step(fn) -> None:
    """``adamw_step(param, grad, m, v, step, *, lr, betas, eps, weight_decay)`` returns
    the new ``(param, m, v)``, matching ``torch.optim.AdamW``."""
    g = torch.Generator().manual_seed(7)
    hyper = dict(lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    start = torch.randn(3, 4, generator=g)
    oracle = start.clone().requires_grad_()
    opt = torch.optim.AdamW([oracle], **hyper)
    param, m, v = start.clone(), torch.zeros(3, 4), torch.zeros(3, 4)
    for step in (1, 2, 3):
        grad = torch.randn(3, 4, generator=g)
        oracle.grad = grad.clone()
        opt.step()
        out = fn(param.clone(), grad.clone(), m.clone(), v.clone(), step, **hyper)
        assert isinstance(out, tuple) and len(out) == 3, (
            "return a tuple (new_param, new_m, new_v)"
        )
        param, m, v = out
        state = opt.state[oracle]
        assert torch.allclose(m, state["exp_avg"], atol=1e-6), (
            f"step {step}: m is off. m = beta1 * m + (1 - beta1) * grad"
        )
        assert torch.allclose(v, state["exp_avg_sq"], atol=1e-7), (
            f"step {step}: v is off. v = beta2 * v + (1 - beta2) * grad**2"
        )
        assert torch.allclose(param, oracle.detach(), atol=1e-6), (
            f"step {step}: the parameter is off by "
            f"{(param - oracle.detach()).abs().max().item():.2e}. Check the bias "
            "corrections 1 - beta**step and that decay multiplies the parameter by "
            "(1 - lr * weight_decay), separately from the Adam move."
        )


@exercise("warmup_cosine_lr")
def verify_warmup_cosine_lr(fn) -> None:
    """``warmup_cosine_lr(step, *, lr, min_lr, warmup_steps, max_steps)``."""
    settings = [
        dict(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=100),
        dict(lr=3e-3, min_lr=0.0, warmup_steps=0, max_steps=50),
    ]
    for kw in settings:
        for step in [0, 1, 5, 9, 10, 11, 30, 55, 75, 99, 100, 150]:
            want = lr_at(step, **kw)
            got = fn(step, **kw)
            assert isinstance(got, (int, float)) and math.isclose(
                got, want, rel_tol=1e-9, abs_tol=1e-12
            ), (
                f"step {step} with {kw}: got {got}, want {want}. Warmup is "
                "lr * (step + 1) / warmup_steps; then min_lr + (lr - min_lr) * "
                "(1 + cos(pi * progress)) / 2; min_lr after max_steps."
            )
