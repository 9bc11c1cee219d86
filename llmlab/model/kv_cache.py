"""The key/value cache: keys and values of the tokens already processed.

When generating one token at a time, the keys and values of earlier tokens never
change (causal attention: a token's k and v depend only on the tokens up to it).
Recomputing them at every step costs O(T²) work over a generation; storing them
makes each new step O(T). The cache is an explicit object the caller creates and
passes to ``GPT.forward``; the model itself never owns cache tensors.

Layout: one ``LayerCache`` per block, each with preallocated ``keys`` and ``values``
of shape (B, K, max_len, Dh) (K = key/value heads, so grouped-query attention
shrinks the cache), of which the first ``filled`` slots are written. Keys are
stored *after* RoPE has rotated them. Every row writes the same slots, so a batch
of prompts of different lengths is left-padded: the cache remembers, per slot,
whether it holds a real token (``key_mask``) and that token's position
(``positions``), and, per row, the position its next token takes (``lengths``, the
number of real tokens unless ``keep`` dropped some).

Differs from production caches (vLLM's paged cache, for instance) in: one
contiguous buffer per layer; padding slots take memory instead of being skipped.

Taught in: chapters/08_generation_cost.ipynb
"""

from __future__ import annotations

import torch

from llmlab.model.config import GPTConfig


class LayerCache:
    """Keys and values of one attention layer."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        self.keys = keys  # (B, K, max_len, Dh)
        self.values = values  # (B, K, max_len, Dh)
        self.length = 0

    def append(
        self, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store new k, v (B, K, T, Dh); return all of them so far (B, K, S, Dh)."""
        start, end = self.length, self.length + k.shape[-2]
        if end > self.keys.shape[-2]:
            raise ValueError(
                f"cache full: {start} cached + {k.shape[-2]} new tokens > "
                f"max_len={self.keys.shape[-2]}"
            )
        self.keys[:, :, start:end] = k
        self.values[:, :, start:end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


class KVCache:
    def __init__(
        self,
        config: GPTConfig,
        *,
        batch_size: int,
        max_len: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """Empty cache for ``batch_size`` rows of up to ``max_len`` slots (default:
        the model's context_length; more needs ``extrapolate=True`` in forward)."""
        max_len = config.context_length if max_len is None else max_len
        for name, value in (("batch_size", batch_size), ("max_len", max_len)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        shape = (batch_size, config.kv_heads, max_len, config.d_head)
        self.layers = [
            LayerCache(
                torch.zeros(shape, device=device, dtype=dtype),
                torch.zeros(shape, device=device, dtype=dtype),
            )
            for _ in range(config.n_layers)
        ]
        slots = (batch_size, max_len)
        self.key_mask = torch.ones(slots, dtype=torch.bool, device=device)
        self.positions = torch.zeros(slots, dtype=torch.long, device=device)
        self.lengths = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.filled = 0
        self.padded = False
        """True once any slot holds padding (then attention needs the key mask)."""

    @property
    def batch_size(self) -> int:
        return self.lengths.shape[0]

    @property
    def max_len(self) -> int:
        return self.key_mask.shape[1]

    @property
    def length(self) -> int:
        """Slots written so far (the same for every row); alias of ``filled``."""
        return self.filled

    def extend(
        self, positions: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Book T new slots: positions (B|1, T), mask (B, T) bool or None (all real).

        Returns the positions (B, S) and key mask (B, S) (None if nothing is padding)
        of every slot so far; each layer then appends its keys and values there.
        """
        T = positions.shape[-1]
        start, end = self.filled, self.filled + T
        if end > self.max_len:
            raise ValueError(
                f"cache full: {start} cached + {T} new tokens > max_len={self.max_len}"
            )
        self.positions[:, start:end] = positions
        if mask is None:
            self.key_mask[:, start:end] = True
            self.lengths += T
        else:
            self.key_mask[:, start:end] = mask
            self.lengths += mask.sum(dim=1)
            self.padded = self.padded or not bool(mask.all())
        self.filled = end
        key_mask = self.key_mask[:, :end] if self.padded else None
        return self.positions[:, :end], key_mask

    def keep(self, slots: torch.Tensor) -> None:
        """Keep only the given slots (LongTensor (S',), increasing), moved to the
        front, in every layer; e.g. attention sinks plus the last N tokens.

        Positions, the key mask and ``lengths`` (next positions) are unchanged for
        the kept tokens, so generation continues at the same positions.
        """
        slots = torch.as_tensor(slots, dtype=torch.long, device=self.lengths.device)
        if slots.dim() != 1 or (slots.numel() and not 0 <= slots.min()):
            raise ValueError(f"slots must be a 1-D tensor of indices, got {slots}")
        if slots.numel() and int(slots.max()) >= self.filled:
            raise ValueError(f"slot {int(slots.max())} >= filled={self.filled}")
        n = slots.numel()
        for layer in self.layers:
            for buffer in (layer.keys, layer.values):
                buffer[:, :, :n] = buffer[:, :, slots].clone()
            layer.length = n
        self.positions[:, :n] = self.positions[:, slots].clone()
        self.key_mask[:, :n] = self.key_mask[:, slots].clone()
        self.filled = n

    def truncate(self, length: int) -> None:
        """Forget every slot from ``length`` on (e.g. rejected speculative drafts),
        without copying: the next token of each row takes the position after its
        kept tokens (``lengths`` is recounted from the key mask)."""
        if not 0 <= length <= self.filled:
            raise ValueError(f"length={length} must be in 0..filled={self.filled}")
        for layer in self.layers:
            layer.length = length
        self.filled = length
        self.lengths = self.key_mask[:, :length].sum(dim=1)

    def nbytes(self) -> int:
        """Memory of the key/value buffers, filled or not:
        2 · layers · kv_heads · d_head · max_len · batch · bytes per number."""
        return sum(c.keys.nbytes + c.values.nbytes for c in self.layers)
