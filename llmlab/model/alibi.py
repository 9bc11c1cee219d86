"""ALiBi: attention with linear biases, position as a penalty on distant keys.

No position vectors at all: each head adds ``-slope * (i - j)`` to the score of
query ``i`` attending to key ``j``, so far-away keys are penalised linearly. Heads
get different slopes (a geometric sequence), so some heads look far and some look
near. Because the bias is a function of distance only, it applies unchanged to
sequences longer than those seen in training.

Differs from Press et al. 2022 (arXiv:2108.12409) in: nothing in the formula; the
bias is computed per tile from positions instead of stored as a (H, T, T) buffer.

Taught in: chapters/05_positions.ipynb
"""

from __future__ import annotations

import math

import torch


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """The per-head slopes: (H,) float32.

    For a power of two, head h (1-based) gets 2^(-8h/H): 8 heads -> 1/2, 1/4, ...,
    1/256. Otherwise the paper's rule: the slopes of the closest smaller power of
    two, then every other slope of the next power of two.
    """
    if n_heads < 1:
        raise ValueError(f"n_heads={n_heads} must be >= 1")

    def geometric(n: int) -> list[float]:
        return [2 ** (-8 * h / n) for h in range(1, n + 1)]

    closest = 2 ** math.floor(math.log2(n_heads))
    slopes = geometric(closest) + geometric(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(
    slopes: torch.Tensor, q_pos: torch.Tensor, k_pos: torch.Tensor
) -> torch.Tensor:
    """Additive score bias: slopes (H,), q_pos (T,), k_pos (S,) -> (H, T, S);
    with one row of positions per sequence, (B, T) and (B, S) -> (B, H, T, S).

    Example: slope 0.5, query at 2, keys 0..2 -> [-1.0, -0.5, 0.0].
    """
    distance = q_pos[..., :, None] - k_pos[..., None, :]  # (..., T, S)
    distance = distance.to(slopes.dtype)[..., None, :, :]  # (..., 1, T, S)
    return -slopes[:, None, None] * distance  # (..., H, T, S)
