"""Causal multi-head self-attention, with grouped-query attention as an option.

Each token's vector is projected to a query ("what am I looking for?"), a key
("what do I contain?") and a value ("what do I pass on?"). The projections are split
into heads, each head attends on its own (``scaled_dot_product.py``), and the heads'
outputs are concatenated and projected back to ``d_model``. With grouped-query
attention (Ainslie et al. 2023, arXiv:2305.13245) there are fewer key/value heads
than query heads; each key/value head serves a group of query heads, which shrinks
the KV cache.

Heads are split by the head *size*, and the head counts are read from the tensors,
not the config: a module whose projections hold only some of the heads (a
tensor-parallel shard) computes exactly its share, unchanged.

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
from llmlab.model.layout import SequenceLayout
from llmlab.model.masks import AttentionMask
from llmlab.model.positions import relative_positions
from llmlab.model.scaled_dot_product import attend, reference_attention


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        D, Dh = config.d_model, config.d_head
        self.d_head = Dh
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
        layout: SequenceLayout | None = None,
        cache: LayerCache | None = None,
    ) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D).

        ``layout`` gives positions and masks (default: one unpadded sequence from
        position 0). With a ``cache``, x holds the tokens after the cached ones;
        their keys and values are appended (S = cached + T keys).
        """
        layout = layout or SequenceLayout.plain(x.shape[1], x.device)
        q, k, v = self._project(x, layout)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, K, S, Dh): cached keys, then the new ones
        k, v = _share_kv_heads(k, v, q.shape[1])  # (B, H, S, Dh)
        cfg = self.config
        y = attend(
            q,
            k,
            v,
            implementation=cfg.attention,
            mask=layout.mask_for(self.mask),
            key_mask=layout.key_mask,
            bias=self._score_bias(layout),
            dropout_p=cfg.dropout if self.training else 0.0,
            block_size=cfg.flash_block_size,
        )  # (B, H, T, Dh)
        return self.dropout(self.out(rearrange(y, "b h t d -> b t (h d)")))

    @torch.no_grad()
    def attention_weights(
        self,
        x: torch.Tensor,
        *,
        layout: SequenceLayout | None = None,
        cache: LayerCache | None = None,
    ) -> torch.Tensor:
        """The weights this layer would use on x: (B, H, T, S), rows summing to 1.

        Computed with the reference formula whatever the configured implementation;
        the cache is read, never written. See ``attention_maps.attention_maps``.
        """
        layout = layout or SequenceLayout.plain(x.shape[1], x.device)
        q, k, v = self._project(x, layout)
        if cache is not None:
            k = torch.cat([cache.keys[:, :, : cache.length], k], dim=2)  # (B,K,S,Dh)
            v = torch.cat([cache.values[:, :, : cache.length], v], dim=2)
        k, v = _share_kv_heads(k, v, q.shape[1])  # (B, H, S, Dh)
        _, weights = reference_attention(
            q,
            k,
            v,
            mask=layout.mask_for(self.mask),
            key_mask=layout.key_mask,
            bias=self._score_bias(layout),
        )
        return weights

    def _project(self, x: torch.Tensor, layout: SequenceLayout):
        """Queries (B, H, T, Dh), keys and values (B, K, T, Dh), positions applied."""
        d = self.d_head  # split by head size: the head counts follow from the shapes
        q = rearrange(self.query(x), "b t (h d) -> b h t d", d=d)  # (B, H, T, Dh)
        k = rearrange(self.key(x), "b t (k d) -> b k t d", d=d)  # (B, K, T, Dh)
        v = rearrange(self.value(x), "b t (k d) -> b k t d", d=d)  # (B, K, T, Dh)
        q, k = self.positions.rotate(q, k, layout.positions, layout.positions)
        return q, k, v

    def _score_bias(self, layout: SequenceLayout):
        """ALiBi's bias as a function of (query slots, key slots), or None."""
        if not self.positions.adds_score_bias:
            return None
        q_pos, k_pos = layout.positions, layout.key_positions
        first_query = k_pos.shape[-1] - q_pos.shape[-1]

        def bias(q_slots: torch.Tensor, k_slots: torch.Tensor) -> torch.Tensor:
            return self.positions.score_bias(
                q_pos[:, q_slots - first_query], k_pos[:, k_slots]
            )  # (B|1, H, T, S)

        return bias


def _share_kv_heads(k: torch.Tensor, v: torch.Tensor, n_heads: int):
    """Grouped-query attention: query head h reads key/value head h // (H // K)."""
    groups = n_heads // k.shape[1]
    if groups == 1:
        return k, v
    k = repeat(k, "b k s d -> b (k g) s d", g=groups)  # (B, H, S, Dh)
    v = repeat(v, "b k s d -> b (k g) s d", g=groups)  # (B, H, S, Dh)
    return k, v
