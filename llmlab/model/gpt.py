"""The language model: token ids -> embeddings -> blocks -> logits over the vocabulary.

A decoder-only transformer as in GPT-2 (Radford et al. 2019): look up each token's
vector (plus a position vector for absolute schemes), pass the sequence through
``n_layers`` blocks, normalise, and project every position to one score per
vocabulary entry. The loss is computed outside the model (``llmlab.train``).

Differs from GPT-2 in: every architectural choice is a config switch; with post-LN
the final norm is an identity, as in the original transformer, because each block
already ends with a norm.

Taught in: chapters/00_overview.ipynb, chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import math

import torch
from torch import nn

from llmlab.model.block import Block
from llmlab.model.config import GPTConfig
from llmlab.model.kv_cache import KVCache
from llmlab.model.norm import make_norm
from llmlab.model.positions import absolute_positions


class GPT(nn.Module):
    def __init__(
        self, config: GPTConfig, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = absolute_positions(config)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        pre = config.norm_placement == "pre"
        self.final_norm = make_norm(config) if pre else nn.Identity()
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.head.weight = self.token_embedding.weight
        self.init_weights(generator=generator)

    @torch.no_grad()
    def init_weights(self, *, generator: torch.Generator | None = None) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases, unit norms, and
        residual output projections scaled down by √(2 · n_layers) so the residual
        stream's variance does not grow with depth."""
        std = 0.02
        residual_std = std / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                if module.weight.is_meta:
                    continue
                residual = name.endswith(("attention.out", "ffn.down"))
                sigma = residual_std if residual else std
                nn.init.normal_(module.weight, 0.0, sigma, generator=generator)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def embed(self, ids: torch.Tensor, *, start: int = 0) -> torch.Tensor:
        """ids: (B, T) int64 -> (B, T, D): token vectors (plus position vectors).

        ``start`` is the position of the first id (non-zero after a KV cache).
        """
        if ids.dim() != 2:
            raise ValueError(f"ids must be (B, T), got shape {tuple(ids.shape)}")
        end = start + ids.shape[1]
        if end > self.config.context_length:
            limit = self.config.context_length
            raise ValueError(f"sequence length {end} exceeds context_length={limit}")
        positions = torch.arange(start, end, device=ids.device)
        return self.positions.add_to_embeddings(self.token_embedding(ids), positions)

    def forward(
        self, ids: torch.Tensor, *, cache: KVCache | None = None
    ) -> torch.Tensor:
        """ids: (B, T) int64 -> logits (B, T, V).

        With a ``cache``, ids are the tokens after the cached ones; their keys and
        values are added to the cache.
        """
        start = 0 if cache is None else cache.length
        x = self.dropout(self.embed(ids, start=start))  # (B, T, D)
        for i, block in enumerate(self.blocks):
            x = block(x, cache=None if cache is None else cache.layers[i])
        return self.head(self.final_norm(x))  # (B, T, V)
