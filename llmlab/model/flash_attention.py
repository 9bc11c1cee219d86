"""Tiled attention with an online softmax ("flash" attention), in plain PyTorch.

The reference path builds a (T, S) score table per head: memory grows as T².
Here queries and keys are cut into tiles of ``block_size``. For each query tile we
walk over the key tiles and keep, per query row, a running maximum ``m``, a running
softmax denominator ``denom`` and a running weighted sum of values ``acc``. When a new
tile raises the maximum, the old ``l`` and ``acc`` are rescaled by ``exp(m_old -
m_new)``; at the end ``acc / l`` is exactly softmax(scores) @ V. Only one tile of
scores exists at a time, so memory grows linearly with T.

The backward pass must not keep the tiles either (autograd would save every one,
bringing T² back), so it is written by hand and *recomputes* each tile from Q, K and
the saved log-sum-exp of each row, as in FlashAttention's backward.

Differs from Dao et al. 2022 (arXiv:2205.14135) in: it is Python loops over tiles,
not a fused GPU kernel, so it saves memory but not time; tiles the mask rules out
entirely (the future, for causal attention) are skipped, as FlashAttention does;
there is no attention dropout.

Taught in: chapters/03_attention.ipynb, chapters/10_long_context.ipynb
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from llmlab.model.masks import AttentionMask, allowed_pairs

ScoreBias = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    mask: AttentionMask | torch.Tensor,
    key_mask: torch.Tensor | None = None,
    bias: ScoreBias | None = None,
    block_size: int = 64,
) -> torch.Tensor:
    """Attention in tiles. q: (B, H, T, Dh), k and v: (B, H, S, Dh) -> (B, H, T, Dh).

    Queries are the last T of the S key slots. ``mask`` is a rule or an explicit
    boolean table, ``key_mask`` (B, S) hides padding keys; both are read one tile at
    a time. ``bias`` is not differentiated (ALiBi's is fixed).
    """
    if block_size < 1:
        raise ValueError(f"block_size={block_size} must be >= 1")
    return _TiledAttention.apply(q, k, v, (mask, key_mask, bias), block_size)


class _TiledAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, rules, block_size):
        # Autocast would push the tile matmuls back to bf16; we choose precision here.
        with torch.autocast(q.device.type, enabled=False):
            y, lse = _forward(q, k, v, rules, block_size)
        ctx.save_for_backward(q, k, v, y, lse)
        ctx.rules, ctx.block_size = rules, block_size
        return y

    @staticmethod
    def backward(ctx, dy):
        q, k, v, y, lse = ctx.saved_tensors
        with torch.autocast(q.device.type, enabled=False):
            dq, dk, dv = _backward(q, k, v, y, lse, dy, ctx.rules, ctx.block_size)
        return dq, dk, dv, None, None


def _tiles(T: int, S: int, block: int):
    """Yield (query slice, key slice) per tile."""
    for t0 in range(0, T, block):
        rows = slice(t0, min(t0 + block, T))
        for s0 in range(0, S, block):
            yield rows, slice(s0, min(s0 + block, S))


def _tile_scores(q, k, rows, cols, rules):
    """Masked, scaled, biased scores of one tile: (B, H, Tb, Sb), or None if empty."""
    mask, key_mask, bias = rules
    T, S = q.shape[-2], k.shape[-2]
    allowed = allowed_pairs(
        mask, key_mask, rows=rows, cols=cols, seq_len=T, key_len=S, device=q.device
    )  # (Tb, Sb) or (B, 1, Tb, Sb)
    if not allowed.any():
        return None
    q_tile, k_tile = q[:, :, rows], k[:, :, cols]
    scores = torch.einsum("bhtd,bhsd->bhts", q_tile, k_tile)  # (B, H, Tb, Sb)
    scores = scores / math.sqrt(q_tile.shape[-1])
    if bias is not None:
        q_slots = torch.arange(S - T + rows.start, S - T + rows.stop, device=q.device)
        k_slots = torch.arange(cols.start, cols.stop, device=q.device)
        scores = scores + bias(q_slots, k_slots).to(scores.dtype)  # (.., H, Tb, Sb)
    if allowed.all():  # tiles wholly in the past need no mask
        return scores
    return scores.masked_fill(~allowed, float("-inf"))


def _upcast(*tensors: torch.Tensor) -> list[torch.Tensor]:
    """Compute in at least float32, even for bf16 inputs (as fused kernels do)."""
    dtype = torch.promote_types(tensors[0].dtype, torch.float32)
    return [t.to(dtype) for t in tensors]


def _forward(q, k, v, rules, block):
    """Output (B, H, T, Dh) and each row's log-sum-exp of scores (B, H, T)."""
    B, H, T, Dh = q.shape
    S = k.shape[-2]
    qf, kf, vf = _upcast(q, k, v)
    new = dict(device=q.device, dtype=qf.dtype)
    acc = torch.zeros(B, H, T, Dh, **new)  # running sum of p @ V
    m = torch.full((B, H, T), float("-inf"), **new)  # running row max
    denom = torch.zeros(B, H, T, **new)  # running softmax denominator
    for rows, cols in _tiles(T, S, block):
        scores = _tile_scores(qf, kf, rows, cols, rules)
        if scores is None:
            continue
        m_new = torch.maximum(m[..., rows], scores.amax(dim=-1))  # (B, H, Tb)
        # A row that has seen no allowed key yet keeps m = -inf; use 0 to avoid nan.
        m_safe = m_new.masked_fill(m_new == float("-inf"), 0.0)
        p = torch.exp(scores - m_safe[..., None])  # (B, H, Tb, Sb)
        rescale = torch.exp(m[..., rows] - m_safe)  # (B, H, Tb): old terms shrink
        denom[..., rows] = denom[..., rows] * rescale + p.sum(dim=-1)
        acc[:, :, rows] = acc[:, :, rows] * rescale[..., None] + p @ vf[:, :, cols]
        m[..., rows] = m_new
    y = (acc / denom[..., None]).to(q.dtype)  # (B, H, T, Dh)
    return y, m + torch.log(denom)


def _backward(q, k, v, y, lse, dy, rules, block):
    """Gradients with respect to q, k and v, recomputing one tile at a time."""
    T, S, Dh = q.shape[-2], k.shape[-2], q.shape[-1]
    qf, kf, vf, dyf, yf = _upcast(q, k, v, dy, y)
    # Row-wise dot(dy, y): the softmax Jacobian term, FlashAttention's "D".
    delta = (dyf * yf).sum(dim=-1)  # (B, H, T)
    dq, dk, dv = torch.zeros_like(qf), torch.zeros_like(kf), torch.zeros_like(vf)
    for rows, cols in _tiles(T, S, block):
        scores = _tile_scores(qf, kf, rows, cols, rules)
        if scores is None:
            continue
        p = torch.exp(scores - lse[..., rows, None])  # (B, H, Tb, Sb): exact weights
        dv[:, :, cols] += p.transpose(-2, -1) @ dyf[:, :, rows]  # (B, H, Sb, Dh)
        dp = dyf[:, :, rows] @ vf[:, :, cols].transpose(-2, -1)  # (B, H, Tb, Sb)
        ds = p * (dp - delta[..., rows, None]) / math.sqrt(Dh)  # d loss / d raw scores
        dq[:, :, rows] += ds @ kf[:, :, cols]  # (B, H, Tb, Dh)
        dk[:, :, cols] += ds.transpose(-2, -1) @ qf[:, :, rows]  # (B, H, Sb, Dh)
    return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype)
