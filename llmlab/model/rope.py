"""Rotary position embeddings (RoPE): encode position by rotating queries and keys.

Each head's vector is split into pairs of coordinates; the pair ``i`` of a token at
position ``p`` is rotated by the angle ``p * theta^(-2i / Dh)``. Rotations preserve
lengths, and the dot product of a query rotated by ``p`` with a key rotated by
``s`` depends only on ``p - s``: attention sees *relative* positions, and nothing is
added to the token embeddings.

Differs from Su et al. 2021 (arXiv:2104.09864) in: coordinates are paired as
(x[i], x[i + Dh/2]) (the "rotate half" layout of GPT-NeoX and HuggingFace Llama)
rather than adjacent (x[2i], x[2i + 1]); the two layouts are the same up to a fixed
permutation of each head's coordinates.

Taught in: chapters/05_positions.ipynb
"""

from __future__ import annotations

import torch


def rope_angles(
    positions: torch.Tensor, d_head: int, *, theta: float = 10_000.0
) -> torch.Tensor:
    """Rotation angle of each coordinate pair: positions (..., T) -> (..., T, Dh/2).

    Example: d_head=4, theta=100 -> frequencies [1, 0.1], so position 3 -> [3, 0.3].
    """
    if d_head % 2:
        raise ValueError(f"RoPE needs an even d_head, got {d_head}")
    exponents = torch.arange(0, d_head, 2, device=positions.device) / d_head
    frequencies = theta ** -exponents.float()  # (Dh/2,): fast to slow rotations
    return positions.float()[..., None] * frequencies  # (..., T, Dh/2)


def apply_rope(
    x: torch.Tensor, positions: torch.Tensor, *, theta: float = 10_000.0
) -> torch.Tensor:
    """Rotate each head vector by its position. x: (B, H, T, Dh) -> the same.

    ``positions`` is (T,) (shared by the batch) or (B, T) (one row per sequence).
    """
    angles = rope_angles(positions, x.shape[-1], theta=theta)  # (T,|B, T, Dh/2)
    if angles.dim() == 3:
        angles = angles[:, None]  # (B, 1, T, Dh/2): the same for every head
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    first, second = x.chunk(2, dim=-1)  # 2 × (B, H, T, Dh/2): the pair coordinates
    return torch.cat(
        [first * cos - second * sin, first * sin + second * cos], dim=-1
    )  # (B, H, T, Dh)
