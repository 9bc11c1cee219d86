"""Causal multi-head self-attention: softmax(Q Kᵀ / √d_k) V with a causal mask.

Taught in: chapters/00_overview.ipynb, chapters/03_attention.ipynb
"""

from __future__ import annotations

import math

import torch
from torch import nn

from llmlab.model.config import GPTConfig


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        B, T, D = x.shape
        H, Dh = self.n_heads, D // self.n_heads
        q, k, v = self.qkv(x).split(D, dim=-1)  # 3 × (B, T, D)
        q, k, v = (t.view(B, T, H, Dh).transpose(1, 2) for t in (q, k, v))  # (B, H, T, Dh)
        scores = q @ k.transpose(-2, -1) / math.sqrt(Dh)  # (B, H, T, T)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
        y = weights @ v  # (B, H, T, Dh)
        return self.out(y.transpose(1, 2).reshape(B, T, D))  # (B, T, D)
