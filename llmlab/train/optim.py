"""AdamW, written out, and the parameter groups it is given.

Adam keeps two running averages per weight: ``m`` of the gradient (direction) and
``v`` of its square (scale). Each step moves a weight by ``lr * m_hat / (sqrt(v_hat)
+ eps)``, where the hats undo the averages' bias towards their zero start. AdamW
adds *decoupled* weight decay: weights shrink by ``lr * weight_decay`` directly,
instead of adding ``weight_decay * w`` to the gradient as L2 regularisation would.

Differs from ``torch.optim.AdamW`` in: one plain loop per parameter instead of
fused or multi-tensor kernels; no amsgrad/maximize/capturable options. A test shows
it takes the same steps as ``torch.optim.AdamW`` on the same gradients.
Paper: Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
arXiv:1711.05101.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AdamW(torch.optim.Optimizer):
    """AdamW with bias correction and decoupled weight decay."""

    def __init__(
        self,
        params,
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(
                f"need lr={lr}, eps={eps}, weight_decay={weight_decay} >= 0"
            )
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas={betas!r} must be in [0, 1)")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._update(p, group)
        return loss

    def _update(self, p: torch.Tensor, group: dict) -> None:
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)  # m: running mean of g
            state["exp_avg_sq"] = torch.zeros_like(p)  # v: running mean of g²
        state["step"] += 1
        beta1, beta2 = group["betas"]
        lr, t, g = group["lr"], state["step"], p.grad
        p.mul_(1 - lr * group["weight_decay"])  # decoupled decay, before the Adam move
        state["exp_avg"].lerp_(g, 1 - beta1)  # m = b1 m + (1 - b1) g
        state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bias1, bias2 = 1 - beta1**t, 1 - beta2**t
        denom = (state["exp_avg_sq"].sqrt() / math.sqrt(bias2)).add_(group["eps"])
        p.addcdiv_(state["exp_avg"], denom, value=-lr / bias1)


def param_groups(model: nn.Module, *, weight_decay: float) -> list[dict]:
    """Two groups: matrices and embeddings decay; biases and norm gains do not.

    Decaying a bias or a LayerNorm gain pulls it towards 0, which only hurts: they
    set offsets and scales, not the size of a learned map.
    """
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
