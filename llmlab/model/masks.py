"""Attention masks as rules over positions: causal, sliding-window, strided sparse.

A mask says which keys each query may attend to. Instead of storing a (T, S) table,
``AttentionMask`` is a small rule that, given query positions and key positions,
returns the allowed pairs. The reference and SDPA paths ask it for the whole table;
the tiled ("flash") path asks for one tile at a time, so it never builds a (T, S)
object. Query positions may start later than key positions (a KV cache), which is
why the rule works on absolute positions rather than on row/column indices.

- causal: query ``i`` sees keys ``j <= i`` (the decoder's "no peeking ahead").
- sliding window (Beltagy et al. 2020, arXiv:2004.05150, causal variant as in
  Mistral): additionally ``i - j < window``.
- strided sparse (Child et al. 2019, arXiv:1904.10509, the "strided" pattern):
  causal, and either ``i - j < stride`` (the local band) or ``i - j`` is a multiple
  of ``stride`` (every stride-th earlier key).

Beyond the rule, a batch can carry two more constraints, combined by
``allowed_pairs``: a key-padding mask (B, S) that hides padding tokens, and an
explicit boolean table (B, T, S) such as a block-diagonal document mask for packed
sequences. Wherever an ``AttentionMask`` is accepted, such a table is too.

The rule works on *slots* (the order of tokens in the sequence, queries being the
last T of the S keys), not on position ids, so packed documents whose positions
restart at 0 are still causal within the sequence.

Differs from the papers in: the paper splits the strided pattern over two heads (or
layers); here one mask holds the union of both. It is applied as a dense mask, so it
shows *what* is attended, not the compute savings a block-sparse kernel would bring.

Taught in: chapters/03_attention.ipynb, chapters/10_long_context.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AttentionMask:
    causal: bool = True
    """Forbid attending to later positions."""
    window: int | None = None
    """Sliding-window size: query i sees keys i - window + 1 ... i."""
    stride: int | None = None
    """Strided sparse pattern with this block length."""

    def __post_init__(self) -> None:
        for name in ("window", "stride"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r} must be a positive int or None")
        if (self.window or self.stride) and not self.causal:
            raise ValueError("window and stride masks are defined for causal attention")

    def tile(self, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
        """Allowed (query, key) pairs: q_pos (T,), k_pos (S,) int -> (T, S) bool.

        Example: causal, q_pos = k_pos = [0, 1, 2] -> lower triangle of ones.
        """
        distance = q_pos[:, None] - k_pos[None, :]  # (T, S): how far back the key is
        allowed = torch.ones_like(distance, dtype=torch.bool)
        if self.causal:
            allowed &= distance >= 0
        if self.window is not None:
            allowed &= distance < self.window
        if self.stride is not None:
            allowed &= (distance < self.stride) | (distance % self.stride == 0)
        return allowed

    def dense(
        self,
        seq_len: int,
        key_len: int | None = None,
        *,
        device: torch.device | None = None,
    ) -> torch.Tensor:
        """The whole (T, S) bool table; queries are the last T of S positions."""
        S = seq_len if key_len is None else key_len
        if S < seq_len:
            raise ValueError(f"key_len={S} must be >= seq_len={seq_len}")
        k_pos = torch.arange(S, device=device)
        return self.tile(k_pos[S - seq_len :], k_pos)

    @property
    def is_plain_causal(self) -> bool:
        """True for the ordinary causal mask (fast paths have a flag for it)."""
        return self.causal and self.window is None and self.stride is None


def allowed_pairs(
    mask: AttentionMask | torch.Tensor,
    key_mask: torch.Tensor | None,
    *,
    rows: slice,
    cols: slice,
    seq_len: int,
    key_len: int,
    device: torch.device,
) -> torch.Tensor:
    """Allowed (query, key) pairs of one tile: bool (Tb, Sb) or (B, 1, Tb, Sb).

    ``mask`` is a rule or an explicit table (T, S), (B, T, S) or (B, 1|H, T, S);
    ``key_mask`` (B, S) is False at padding keys. ``rows`` and ``cols`` select the
    tile among the T queries and S keys (queries are the last T key slots). With a
    key mask or a table, every token may always see itself, so no row is empty and
    padding rows stay finite (their outputs are ignored anyway).
    """
    T, S = seq_len, key_len
    q_slots = torch.arange(S - T + rows.start, S - T + rows.stop, device=device)
    k_slots = torch.arange(cols.start, cols.stop, device=device)
    if isinstance(mask, AttentionMask):
        allowed = mask.tile(q_slots, k_slots)  # (Tb, Sb)
        if key_mask is None:
            return allowed
    else:
        table = mask if mask.dim() != 3 else mask[:, None]  # (..., T, S)
        allowed = table[..., rows, cols]
    if key_mask is not None:
        allowed = allowed & key_mask[:, None, None, cols]  # (B, 1, Tb, Sb)
    return allowed | (q_slots[:, None] == k_slots[None, :])
