"""The key/value cache: keys and values of the tokens already processed.

When generating one token at a time, the keys and values of earlier tokens never
change (causal attention: a token's k and v depend only on the tokens up to it).
Recomputing them at every step costs O(T²) work over a generation; storing them
makes each new step O(T). The cache is an explicit object the caller creates and
passes to ``GPT.forward``; the model itself never owns cache tensors.

Layout: one ``LayerCache`` per block, each with preallocated ``keys`` and ``values``
of shape (B, K, max_len, Dh) (K = key/value heads, so grouped-query attention
shrinks the cache), of which the first ``length`` positions are filled. Keys are
stored *after* RoPE has rotated them, at their absolute positions.

Differs from production caches (vLLM's paged cache, for instance) in: one
contiguous buffer per layer, the same length for every sequence in the batch.

Taught in: chapter 08, the cost of generation (planned)
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
        """Empty cache for ``batch_size`` sequences of up to ``max_len`` tokens
        (default: the model's context_length)."""
        max_len = config.context_length if max_len is None else max_len
        limit = config.context_length
        if not 1 <= max_len <= limit:
            raise ValueError(f"max_len={max_len} must be in 1..context_length={limit}")
        shape = (batch_size, config.kv_heads, max_len, config.d_head)
        self.layers = [
            LayerCache(
                torch.zeros(shape, device=device, dtype=dtype),
                torch.zeros(shape, device=device, dtype=dtype),
            )
            for _ in range(config.n_layers)
        ]

    @property
    def length(self) -> int:
        """Tokens cached so far (the position of the next token)."""
        return self.layers[0].length

    def nbytes(self) -> int:
        """Memory of the whole cache, filled or not."""
        return sum(c.keys.nbytes + c.values.nbytes for c in self.layers)
