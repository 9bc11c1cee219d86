"""Causal multi-head self-attention, with grouped-query attention as an option.

Each token's vector is projected to a query ("what am I looking for?"), a key
("what do I contain?") and a value ("what do I pass on?"). The projections are split
into heads, each head attends on its own (``scaled_dot_product.py``), and the heads'
outputs are concatenated and projected back to ``d_model``. With grouped-query
attention (Ainslie et al. 2023, arXiv:2305.13245) there are fewer key/value heads
than query heads; each key/value head serves a group of query heads, which shrinks
the KV cache.

Differs from Vaswani et al. 2017 in: separate query/key/value projections rather
than one fused matrix (GPT-2 fuses them; ``weights.py`` splits it), and the option
of fewer key/value heads.

Taught in: chapters/00_overview.ipynb, chapters/03_attention.ipynb
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from llmlab.model.config import GPTConfig
from llmlab.model.kv_cache import LayerCache
from llmlab.model.masks import AttentionMask
from llmlab.model.positions import relative_positions
from llmlab.model.scaled_dot_product import attend, reference_attention


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        D, Dh = config.d_model, config.d_head
        self.query = nn.Linear(D, config.n_heads * Dh, bias=config.bias)
        self.key = nn.Linear(D, config.kv_heads * Dh, bias=config.bias)
        self.value = nn.Linear(D, config.kv_heads * Dh, bias=config.bias)
        self.out = nn.Linear(config.n_heads * Dh, D, bias=config.bias)
        self.positions = relative_positions(config)
        self.mask = AttentionMask(
            causal=True, window=config.attention_window, stride=config.attention_stride
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        *,
        return_weights: bool = False,
        cache: LayerCache | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> (B, T, D).

        With ``return_weights=True`` the reference path runs whatever the config
        says, and the result is (output, weights (B, H, T, S)). With a ``cache``,
        x holds the tokens after the cached ones (S = cached + T keys).
        """
        B, T, D = x.shape
        cfg = self.config
        H, K = cfg.n_heads, cfg.kv_heads
        q = rearrange(self.query(x), "b t (h d) -> b h t d", h=H)  # (B, H, T, Dh)
        k = rearrange(self.key(x), "b t (k d) -> b k t d", k=K)  # (B, K, T, Dh)
        v = rearrange(self.value(x), "b t (k d) -> b k t d", k=K)  # (B, K, T, Dh)
        start = 0 if cache is None else cache.length
        pos = torch.arange(start, start + T, device=x.device)  # absolute positions
        q, k = self.positions.rotate(q, k, pos, pos)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, K, S, Dh): cached keys, then the new ones
        # Grouped-query attention: query head h reads key/value head h // (H // K).
        k = repeat(k, "b k s d -> b (k g) s d", g=H // K)  # (B, H, S, Dh)
        v = repeat(v, "b k s d -> b (k g) s d", g=H // K)  # (B, H, S, Dh)
        bias = self.positions.score_bias if self.positions.adds_score_bias else None
        dropout_p = cfg.dropout if self.training else 0.0
        if return_weights:
            y, weights = reference_attention(
                q, k, v, mask=self.mask, bias=bias, dropout_p=dropout_p
            )
        else:
            y = attend(
                q,
                k,
                v,
                implementation=cfg.attention,
                mask=self.mask,
                bias=bias,
                dropout_p=dropout_p,
                block_size=cfg.flash_block_size,
            )  # (B, H, T, Dh)
        y = self.dropout(self.out(rearrange(y, "b h t d -> b t (h d)")))  # (B, T, D)
        return (y, weights) if return_weights else y
