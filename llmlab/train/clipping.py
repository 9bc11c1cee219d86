"""Global-norm gradient clipping.

All gradients are treated as one long vector; if its length exceeds ``max_norm``,
every gradient is scaled by the same factor so the length becomes ``max_norm``.
The direction of the step is kept, only a rare huge step is shortened.

Differs from ``torch.nn.utils.clip_grad_norm_`` in: 2-norm only, no foreach
kernels. A test checks they give the same gradients and norm.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


@torch.no_grad()
def global_grad_norm(parameters: Iterable[torch.Tensor]) -> torch.Tensor:
    """The 2-norm of all gradients taken as one long vector (a 0-dim tensor)."""
    return _norm_of([p.grad for p in parameters if p.grad is not None])


def _norm_of(grads: list[torch.Tensor]) -> torch.Tensor:
    if not grads:
        return torch.tensor(0.0)
    # sqrt of the sum of squares of every entry, one tensor at a time
    return torch.stack([g.detach().float().norm(2) for g in grads]).norm(2)


@torch.no_grad()
def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale gradients in place so their global 2-norm is at most ``max_norm``.

    Returns the norm before clipping (a 0-dim tensor), worth logging: spikes in it
    are the first sign of an unstable run.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    total = _norm_of(grads)
    # torch's formula: the 1e-6 guards the division, the clamp never scales up.
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.to(g.dtype))
    return total
