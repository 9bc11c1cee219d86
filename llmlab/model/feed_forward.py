"""The position-wise feed-forward network: ReLU, GELU or SwiGLU.

After attention has mixed information *between* positions, the feed-forward network
transforms each position on its own: widen to ``d_ff``, apply a non-linearity,
project back to ``d_model``. ReLU is the original transformer's (Vaswani et al.
2017); GELU is GPT-2's ("gelu_tanh" is the tanh approximation GPT-2 shipped with);
SwiGLU (Shazeer 2020, arXiv:2002.05202) multiplies a SiLU-activated gate with a
second projection, as Llama does, so it has three matrices instead of two.

Differs from the papers in: nothing; note that SwiGLU models pick a smaller ``d_ff``
(about 8/3 · d_model) to keep the parameter count of a 4 · d_model MLP.

Taught in: chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from llmlab.model.config import GPTConfig

_ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


class FeedForward(nn.Module):
    """Two matrices with a ReLU or GELU between them."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.ffn not in _ACTIVATIONS:
            raise ValueError(f"FeedForward has no activation {config.ffn!r}")
        self.activation = config.ffn
        self.up = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D), each position on its own."""
        hidden = _ACTIVATIONS[self.activation](self.up(x))  # (B, T, F)
        return self.dropout(self.down(hidden))


class SwiGLUFeedForward(nn.Module):
    """silu(x W_gate) * (x W_up), then W_down: a gated linear unit."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.gate = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.up = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D), each position on its own."""
        hidden = F.silu(self.gate(x)) * self.up(x)  # (B, T, F)
        return self.dropout(self.down(hidden))


def make_ffn(config: GPTConfig) -> nn.Module:
    """The feed-forward network the config asks for."""
    if config.ffn == "swiglu":
        return SwiGLUFeedForward(config)
    return FeedForward(config)
