"""The transformer block: attention then a feed-forward network, each inside a
residual connection with a norm.

Pre-LN (GPT-2 onwards) normalises the *input* of each sublayer and adds the result
back: ``x + f(norm(x))``, so the residual stream is a clean sum that gradients flow
through unchanged. Post-LN (the original transformer) normalises *after* adding:
``norm(x + f(x))``; it needs learning-rate warm-up to train deep stacks (Xiong et
al. 2020, arXiv:2002.04745).

Differs from the papers in: nothing beyond the switch between the two.

Taught in: chapters/00_overview.ipynb, chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import torch
from torch import nn

from llmlab.model.attention import CausalSelfAttention
from llmlab.model.config import GPTConfig
from llmlab.model.feed_forward import make_ffn
from llmlab.model.kv_cache import LayerCache
from llmlab.model.layout import SequenceLayout
from llmlab.model.norm import make_norm


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.pre_norm = config.norm_placement == "pre"
        self.norm1 = make_norm(config)
        self.attention = CausalSelfAttention(config)
        self.norm2 = make_norm(config)
        self.ffn = make_ffn(config)

    def forward(
        self,
        x: torch.Tensor,
        *,
        layout: SequenceLayout | None = None,
        cache: LayerCache | None = None,
    ) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D); ``layout`` and ``cache`` go to attention."""
        if self.pre_norm:
            x = x + self.attention(self.norm1(x), layout=layout, cache=cache)
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self.attention(x, layout=layout, cache=cache))
        return self.norm2(x + self.ffn(x))
