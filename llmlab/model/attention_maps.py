"""Attention weights, read out of any model: ``attention_maps(model, ids)``.

The fused attention paths never build the (T, S) table of weights, so the model does
not return them. This helper hooks every attention layer for one forward pass and
asks each layer for the weights it would use on its input (the reference formula,
same projections, positions and masks); the forward pass itself is unchanged.

Taught in: chapters/03_attention.ipynb, chapters/11_what_context_is_not.ipynb
"""

from __future__ import annotations

import torch
from torch import nn

from llmlab.model.attention import CausalSelfAttention


@torch.no_grad()
def attention_maps(model: nn.Module, ids: torch.Tensor, **forward_kwargs) -> list:
    """One (B, H, T, S) tensor of attention weights per attention layer, in order.

    ``forward_kwargs`` go to ``model(ids, ...)`` (positions, attention_mask, cache).
    """
    maps: list[torch.Tensor] = []

    def record(module, args, kwargs):
        maps.append(module.attention_weights(*args, **kwargs))

    layers = [m for m in model.modules() if isinstance(m, CausalSelfAttention)]
    handles = [m.register_forward_pre_hook(record, with_kwargs=True) for m in layers]
    try:
        model(ids, **forward_kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return maps
