"""Model configuration: one frozen dataclass and named presets.

Taught in: chapters/00_overview.ipynb, chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256
    """Number of token ids."""
    context_length: int = 64
    """Longest sequence the model accepts."""
    d_model: int = 32
    """Width of every token's vector."""
    n_heads: int = 4
    """Attention heads per layer."""
    n_layers: int = 2
    """Transformer blocks stacked."""
    d_ff: int = 128
    """Hidden width of the feed-forward network."""

    def __post_init__(self) -> None:
        for field in ("vocab_size", "context_length", "d_model", "n_heads", "n_layers", "d_ff"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{field}={value!r} must be a positive int")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


PRESETS: dict[str, GPTConfig] = {
    "tiny": GPTConfig(),
}
