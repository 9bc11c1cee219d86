"""Scaled dot-product attention, softmax(Q Kᵀ / √d_k + bias) V, three ways.

The *reference* path writes the formula out: a (T, S) score table per head, a mask
of -inf where attending is forbidden, a softmax, a weighted sum of values. It can
return the attention weights (for heat maps). The *sdpa* path calls PyTorch's
``scaled_dot_product_attention``, which picks a fused kernel where one exists. The
*flash* path (``flash_attention.py``) computes the same numbers tile by tile, so its
memory grows linearly with sequence length. Tests prove all three agree.

Inputs already have one key/value head per query head (grouped-query attention
repeats them before calling here). ``mask`` is an ``AttentionMask`` rule or an
explicit boolean table; ``key_mask`` (B, S) hides padding keys; position biases
such as ALiBi arrive as a function of (query slots, key slots). Queries are the
*last* T of the S key slots, which is what a KV cache needs.

Differs from Vaswani et al. 2017 (arXiv:1706.03762) in: the optional additive bias
(ALiBi, arXiv:2108.12409) and the sliding-window/sparse masks.

Taught in: chapters/03_attention.ipynb
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from llmlab.model.flash_attention import flash_attention
from llmlab.model.masks import AttentionMask, allowed_pairs

ScoreBias = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""bias(q_slots (T,), k_slots (S,)) -> (H, T, S) or (B, H, T, S), added to scores."""

CAUSAL = AttentionMask()


def reference_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    mask: AttentionMask | torch.Tensor = CAUSAL,
    key_mask: torch.Tensor | None = None,
    bias: ScoreBias | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The formula, written out. Returns (output, attention weights).

    q: (B, H, T, Dh), k and v: (B, H, S, Dh) -> output (B, H, T, Dh),
    weights (B, H, T, S) with rows summing to 1.
    """
    T, S, Dh = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = torch.einsum("bhtd,bhsd->bhts", q, k) / math.sqrt(Dh)  # (B, H, T, S)
    if bias is not None:
        scores = scores + bias(*_slots(T, S, q.device))  # broadcast over B (and H)
    allowed = _allowed(mask, key_mask, T, S, q.device)  # (T, S) or (B, 1, T, S)
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = scores.softmax(dim=-1)  # (B, H, T, S)
    if dropout_p > 0:
        weights = F.dropout(weights, p=dropout_p)
    return torch.einsum("bhts,bhsd->bhtd", weights, v), weights  # (B, H, T, Dh)


def sdpa_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    mask: AttentionMask | torch.Tensor = CAUSAL,
    key_mask: torch.Tensor | None = None,
    bias: ScoreBias | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """PyTorch's fused attention.

    q: (B, H, T, Dh), k and v: (B, H, S, Dh) -> (B, H, T, Dh).
    """
    T, S = q.shape[-2], k.shape[-2]
    plain = isinstance(mask, AttentionMask) and mask.is_plain_causal
    if plain and bias is None and key_mask is None and (T == S or T == 1):
        # Causal over T == S: the flag lets PyTorch skip the masked half and never
        # build the mask. One query after a cache: it may see every key.
        return F.scaled_dot_product_attention(
            q, k, v, dropout_p=dropout_p, is_causal=T == S and T > 1
        )
    allowed = _allowed(mask, key_mask, T, S, q.device)  # (T, S) or (B, 1, T, S)
    if bias is None:
        attn_mask = allowed  # boolean masks keep the fused kernels available
    else:
        attn_mask = bias(*_slots(T, S, q.device)).to(q.dtype)  # (..., H, T, S)
        attn_mask = attn_mask.masked_fill(~allowed, float("-inf"))
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=attn_mask, dropout_p=dropout_p
    )


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    implementation: str,
    mask: AttentionMask | torch.Tensor = CAUSAL,
    key_mask: torch.Tensor | None = None,
    bias: ScoreBias | None = None,
    dropout_p: float = 0.0,
    block_size: int = 64,
) -> torch.Tensor:
    """Attention by the named implementation: "reference", "sdpa" or "flash".

    q: (B, H, T, Dh), k and v: (B, H, S, Dh) -> (B, H, T, Dh).
    """
    if q.shape[-2] > k.shape[-2]:
        raise ValueError(f"more queries ({q.shape[-2]}) than keys ({k.shape[-2]})")
    options = dict(mask=mask, key_mask=key_mask, bias=bias)
    if implementation == "reference":
        y, _ = reference_attention(q, k, v, dropout_p=dropout_p, **options)
        return y
    if implementation == "sdpa":
        return sdpa_attention(q, k, v, dropout_p=dropout_p, **options)
    if implementation == "flash":
        if dropout_p > 0:
            raise ValueError(
                f"the flash path has no attention dropout (dropout_p={dropout_p}); "
                "use implementation='sdpa' or dropout=0"
            )
        return flash_attention(q, k, v, block_size=block_size, **options)
    raise ValueError(
        f"implementation={implementation!r} must be 'reference', 'sdpa' or 'flash'"
    )


def _slots(T: int, S: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Query slots (the last T of S) and key slots."""
    k_slots = torch.arange(S, device=device)
    return k_slots[S - T :], k_slots


def _allowed(mask, key_mask, T: int, S: int, device) -> torch.Tensor:
    return allowed_pairs(
        mask,
        key_mask,
        rows=slice(0, T),
        cols=slice(0, S),
        seq_len=T,
        key_len=S,
        device=device,
    )
