"""Positional information behind one interface: none, sinusoidal, learned, RoPE, ALiBi.

Attention by itself is blind to order: permute the tokens and the outputs permute
with them. Every scheme fixes that at one of three places, so the interface has
three hooks, each a no-op unless the scheme uses it:

- ``add_to_embeddings(x, positions)``: absolute schemes add a vector per position
  (sinusoidal, learned), once, before the first block;
- ``rotate(q, k, q_pos, k_pos)``: RoPE rotates queries and keys in every layer;
- ``score_bias(q_pos, k_pos)``: ALiBi adds a distance penalty to the scores.

The model holds one object for the absolute hook (``absolute_positions``) and each
attention layer one for the other two (``relative_positions``), so a block works on
its own. Positions arrive per row, (B, T) (or (1, T) shared by the batch), so padded
batches, packed sequences and cached generation all use the same hooks.
``extrapolates`` says whether a scheme has a meaning past the trained window: every
scheme does except learned positions, which have no vector there.

Differs from Vaswani et al. 2017 in: the sinusoidal table is added without scaling
the token embeddings by √d_model, and is computed on the fly (any length).

Taught in: chapters/05_positions.ipynb
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from llmlab.model.alibi import alibi_bias, alibi_slopes
from llmlab.model.config import GPTConfig
from llmlab.model.rope import apply_rope


class Positions(nn.Module):
    """The interface, and the "none" scheme: every hook leaves its input alone."""

    adds_score_bias = False
    extrapolates = True

    def add_to_embeddings(self, x: torch.Tensor, positions: torch.Tensor) -> Tensor:
        """x: (B, T, D), positions: (B, T) or (1, T) -> (B, T, D)."""
        return x

    def rotate(
        self, q: torch.Tensor, k: torch.Tensor, q_pos: torch.Tensor, k_pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """q: (B, H, T, Dh), k: (B, K, S, Dh), q_pos (B|1, T), k_pos (B|1, S) -> the
        same shapes."""
        return q, k

    def score_bias(self, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
        """(B|1, H, T, S) bias added to attention scores (when adds_score_bias)."""
        raise NotImplementedError(f"{type(self).__name__} adds no score bias")

    def reset_parameters(self) -> None:
        """Re-create parameters and buffers (after ``to_empty``); no-op by default."""


class NoPositions(Positions):
    """No positional information at all: the model sees a bag of tokens."""


def sinusoidal_table(positions: torch.Tensor, d_model: int) -> torch.Tensor:
    """The fixed sine/cosine vectors: positions (..., T) -> (..., T, D).

    Column 2i is sin(p / 10000^(2i/D)) and column 2i+1 is cos of the same angle.
    """
    i = torch.arange(0, d_model, 2, device=positions.device).float()  # (D/2,)
    angles = positions.float()[..., None] / (10_000 ** (i / d_model))  # (.., T, D/2)
    table = torch.stack([angles.sin(), angles.cos()], dim=-1)  # (..., T, D/2, 2)
    return table.flatten(-2)  # (..., T, D), sin and cos interleaved


class SinusoidalPositions(Positions):
    """Fixed sine/cosine vectors added to the token embeddings (no parameters)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.d_model = d_model

    def add_to_embeddings(self, x: torch.Tensor, positions: torch.Tensor) -> Tensor:
        return x + sinusoidal_table(positions, self.d_model).to(x.dtype)


class LearnedPositions(Positions):
    """One trained vector per position, up to context_length (GPT-2's ``wpe``)."""

    extrapolates = False

    def __init__(self, context_length: int, d_model: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(context_length, d_model)

    def add_to_embeddings(self, x: torch.Tensor, positions: torch.Tensor) -> Tensor:
        return x + self.embedding(positions)


class RotaryPositions(Positions):
    """RoPE: rotate queries and keys by their positions (see ``rope.py``)."""

    def __init__(self, theta: float) -> None:
        super().__init__()
        self.theta = theta

    def rotate(
        self, q: torch.Tensor, k: torch.Tensor, q_pos: torch.Tensor, k_pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            apply_rope(q, q_pos, theta=self.theta),
            apply_rope(k, k_pos, theta=self.theta),
        )


class ALiBiPositions(Positions):
    """ALiBi: a per-head linear penalty on distance (see ``alibi.py``)."""

    adds_score_bias = True

    def __init__(self, n_heads: int) -> None:
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(n_heads), persistent=False)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.slopes.copy_(alibi_slopes(len(self.slopes)))

    def score_bias(self, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
        return alibi_bias(self.slopes, q_pos, k_pos)


def absolute_positions(config: GPTConfig) -> Positions:
    """The scheme's embedding-level part (NoPositions for RoPE, ALiBi and none)."""
    if config.position == "sinusoidal":
        return SinusoidalPositions(config.d_model)
    if config.position == "learned":
        return LearnedPositions(config.context_length, config.d_model)
    return NoPositions()


def relative_positions(config: GPTConfig) -> Positions:
    """The scheme's attention-level part (NoPositions for the absolute schemes)."""
    if config.position == "rope":
        return RotaryPositions(config.rope_theta)
    if config.position == "alibi":
        return ALiBiPositions(config.n_heads)
    return NoPositions()
