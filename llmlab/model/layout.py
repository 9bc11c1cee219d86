"""Where each token sits and what it may see: the per-forward ``SequenceLayout``.

One forward pass computes, once, the facts every layer needs about the sequence:
the position of each new token (per row, so padded and packed batches work), the
positions of all keys (cached ones included), which keys are real tokens (a
key-padding mask) and, optionally, an explicit "query t may see key s" table such as
a block-diagonal document mask. Every block and every attention implementation reads
the same layout, so a left-padded batch, packed sequences and cached generation are
all the same call.

Taught in: chapters/03_attention.ipynb, chapters/08_generation_cost.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from llmlab.model.masks import AttentionMask


@dataclass(frozen=True)
class SequenceLayout:
    positions: torch.Tensor
    """(B, T) or (1, T) int64: position of each query token."""
    key_positions: torch.Tensor
    """(B, S) or (1, S) int64: position of each key (cached keys first)."""
    key_mask: torch.Tensor | None = None
    """(B, S) bool, False at padding keys; None means every key is real."""
    explicit: torch.Tensor | None = None
    """(B, T, S) bool table ANDed with the attention rule; None means no extra rule."""

    @classmethod
    def plain(cls, seq_len: int, device: torch.device | None = None) -> SequenceLayout:
        """One unpadded sequence starting at position 0 (the default)."""
        positions = torch.arange(seq_len, device=device)[None]  # (1, T)
        return cls(positions=positions, key_positions=positions)

    def mask_for(self, rule: AttentionMask) -> AttentionMask | torch.Tensor:
        """The rule alone, or the rule ANDed with the explicit table (B, 1, T, S)."""
        if self.explicit is None:
            return rule
        T, S = self.explicit.shape[-2:]
        slots = torch.arange(S, device=self.explicit.device)
        allowed = rule.tile(slots[S - T :], slots)  # (T, S)
        return (self.explicit & allowed)[:, None]  # (B, 1, T, S)
