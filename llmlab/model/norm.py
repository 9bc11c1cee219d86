"""Normalisation layers: LayerNorm and RMSNorm.

Both rescale each token's vector to a standard size before a sublayer, which keeps
activations in a range where training is stable. LayerNorm (Ba et al. 2016,
arXiv:1607.06450) subtracts the mean and divides by the standard deviation, then
applies a learned scale and shift. RMSNorm (Zhang & Sennrich 2019,
arXiv:1910.07467) skips the mean: it divides by the root mean square and applies a
learned scale only, which is cheaper and works as well in practice (Llama uses it).

Differs from the papers in: nothing. RMSNorm is written out; LayerNorm's arithmetic is
written out in ``layer_norm_reference``, while the module calls PyTorch's fused
``F.layer_norm`` (one kernel instead of about seven, a measurable share of a small
model's step time). Tests check that the two agree, values and gradients.

Taught in: chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from llmlab.model.config import GPTConfig


def layer_norm_reference(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float
) -> torch.Tensor:
    """x: (..., D) -> (..., D): zero mean, unit variance, then scaled and shifted."""
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)
    y = (x - mean) * torch.rsqrt(variance + eps) * weight
    return y if bias is None else y + bias


class LayerNorm(nn.Module):
    def __init__(self, d_model: int, *, eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias else None

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Unit gain, zero shift."""
        self.weight.fill_(1.0)
        if self.bias is not None:
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D) -> (..., D); the fused form of ``layer_norm_reference``."""
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    def __init__(self, d_model: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Unit gain."""
        self.weight.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D) -> (..., D) with unit root mean square, then scaled."""
        # Compute in at least float32 even under bf16 autocast: squares of bf16 lose
        # precision (float64 stays float64).
        x32 = x.to(torch.promote_types(x.dtype, torch.float32))
        y = x32 * torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return y.to(x.dtype) * self.weight


def make_norm(config: GPTConfig) -> nn.Module:
    """The norm the config asks for, over d_model features."""
    if config.norm == "rmsnorm":
        return RMSNorm(config.d_model, eps=config.norm_eps)
    return LayerNorm(config.d_model, eps=config.norm_eps, bias=config.bias)
