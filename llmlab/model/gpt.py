"""The language model: token ids -> embeddings -> blocks -> logits over the vocabulary.

Taught in: chapters/00_overview.ipynb
"""

from __future__ import annotations

import torch
from torch import nn

from llmlab.model.block import Block
from llmlab.model.config import GPTConfig


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.context_length, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.final_norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """ids: (B, T) int64 -> (B, T, D): token vectors plus position vectors."""
        B, T = ids.shape
        if T > self.config.context_length:
            raise ValueError(
                f"sequence length {T} exceeds context_length={self.config.context_length}"
            )
        positions = torch.arange(T, device=ids.device)
        return self.token_embedding(ids) + self.position_embedding(positions)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids: (B, T) int64 -> logits (B, T, V)."""
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(self.final_norm(x))
