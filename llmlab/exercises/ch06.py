"""Checkers for chapter 06, pretraining: accumulation, compute at scale, Adam's step.

Right answers come from PyTorch: one backward pass over all the data at once, the
6·N·D rule evaluated directly, and ``torch.optim.Adam``'s first step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise


def _tiny_lm(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Embedding(20, 8), torch.nn.Linear(8, 20))


@exercise("accumulate_gradients")
def verify_accumulate_gradients(fn) -> None:
    """``accumulate_gradients(model, micro_batches)``: grads of the mean over tokens."""
    g = torch.Generator().manual_seed(0)
    shapes = {
        "two equal micro-batches": [(4, 6), (4, 6)],
        "unequal batch sizes": [(1, 6), (5, 6), (2, 6)],
        "unequal lengths": [(3, 2), (2, 9), (1, 4)],
        "one micro-batch": [(3, 5)],
    }
    for label, sizes in shapes.items():
        batches = [
            (torch.randint(20, s, generator=g), torch.randint(20, s, generator=g))
            for s in sizes
        ]
        model, reference = _tiny_lm(1), _tiny_lm(1)
        logits = torch.cat([reference(x).reshape(-1, 20) for x, _ in batches])
        targets = torch.cat([y.reshape(-1) for _, y in batches])
        F.cross_entropy(logits, targets).backward()  # every token of every batch once
        fn(model, [(x.clone(), y.clone()) for x, y in batches])
        for (name, p), q in zip(model.named_parameters(), reference.parameters()):
            assert p.grad is not None, f"{label}: {name}.grad is None; call backward"
            gap = (p.grad - q.grad).abs().max().item()
            assert gap < 1e-5, (
                f"{label}: {name}.grad is off by up to {gap:.2e}. Weight each "
                "micro-batch's mean loss by its share of all the tokens."
            )


@exercise("training_days")
def verify_training_days(fn) -> None:
    """``training_days(n_params, n_tokens, n_gpus, peak_flops, utilization)``."""
    cases = [
        (124e6, 10e9, 8, 312e12, 0.4),  # GPT-2 small size on one 8-GPU node
        (7e9, 2e12, 1024, 989e12, 0.4),
        (70e9, 15e12, 16_384, 989e12, 0.38),
        (1e6, 5e5, 1, 1e12, 1.0),
    ]
    for n, d, gpus, peak, mfu in cases:
        got = fn(n, d, gpus, peak, mfu)
        want = 6 * n * d / (gpus * peak * mfu) / 86_400
        label = f"N={n:.3g}, D={d:.3g}, {gpus} GPUs at {peak:.3g} FLOP/s, {mfu:.0%}"
        assert isinstance(got, (int, float)), f"{label}: expected a number, got {got!r}"
        assert math.isclose(got, want, rel_tol=1e-6), (
            f"{label}: got {got:.6g} days, want {want:.6g}. Training costs about "
            "6 FLOPs per parameter per token (2 forward, 4 backward)."
        )


@exercise("first_adam_update")
def verify_first_adam_update(fn) -> None:
    """``first_adam_update(grad, lr, eps)``: the change Adam's first step makes."""
    g = torch.Generator().manual_seed(3)
    for scale in (1e-6, 1e-2, 1.0, 1e3):
        for betas in ((0.9, 0.999), (0.8, 0.95)):
            grad = torch.randn(50, generator=g, dtype=torch.float64) * scale
            param = torch.nn.Parameter(torch.zeros(50, dtype=torch.float64))
            optimizer = torch.optim.Adam([param], lr=0.01, betas=betas, eps=1e-8)
            param.grad = grad.clone()
            optimizer.step()
            got = fn(grad.clone(), 0.01, 1e-8)
            label = f"gradients of size ~{scale:g}, betas {betas}"
            assert isinstance(got, torch.Tensor), f"{label}: expected a tensor"
            gap = (got.double() - param.detach()).abs().max().item()
            assert gap < 1e-9, (
                f"{label}: off by up to {gap:.2e} from torch.optim.Adam. After one "
                "step the bias-corrected m and v are g and g**2 exactly."
            )
