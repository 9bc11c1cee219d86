"""The language model: token ids -> embeddings -> blocks -> logits over the vocabulary.

A decoder-only transformer as in GPT-2 (Radford et al. 2019): look up each token's
vector (plus a position vector for absolute schemes), pass the sequence through
``n_layers`` blocks, normalise, and project every position to one score per
vocabulary entry. The loss is computed outside the model (``llmlab.train``).

Differs from GPT-2 in: every architectural choice is a config switch; with post-LN
the final norm is an identity, as in the original transformer, because each block
already ends with a norm.

Taught in: chapters/00_overview.ipynb, chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import math

import torch
from torch import nn

from llmlab.model.block import Block
from llmlab.model.config import GPTConfig
from llmlab.model.kv_cache import KVCache
from llmlab.model.layout import SequenceLayout
from llmlab.model.norm import make_norm
from llmlab.model.positions import absolute_positions


class GPT(nn.Module):
    def __init__(
        self, config: GPTConfig, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = absolute_positions(config)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        pre = config.norm_placement == "pre"
        self.final_norm = make_norm(config) if pre else nn.Identity()
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.head.weight = self.token_embedding.weight
        self.init_weights(generator=generator)

    @torch.no_grad()
    def init_weights(self, *, generator: torch.Generator | None = None) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases, unit norms, and
        residual output projections scaled down by √(2 · n_layers) so the residual
        stream's variance does not grow with depth. Every parameter and buffer is
        set, so a model built on the meta device and moved with ``to_empty`` is
        ready after this call (and equal to a directly built one, same generator).
        """
        if self.config.tie_embeddings:  # ``to_empty`` gives each module its own copy
            self.head.weight = self.token_embedding.weight
        std = 0.02
        residual_std = std / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                if module.weight.is_meta:
                    continue
                residual = name.endswith(("attention.out", "ffn.down"))
                sigma = residual_std if residual else std
                nn.init.normal_(module.weight, 0.0, sigma, generator=generator)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif hasattr(module, "reset_parameters"):  # norms, ALiBi slopes
                if not any(t.is_meta for t in module.parameters(recurse=False)):
                    module.reset_parameters()

    def embed(
        self, ids: torch.Tensor, *, positions: torch.Tensor | None = None
    ) -> torch.Tensor:
        """ids: (B, T) int64 -> (B, T, D): token vectors (plus position vectors).

        ``positions`` (B, T) or (1, T) defaults to 0 … T-1.
        """
        self._check_ids(ids)
        if positions is None:
            positions = torch.arange(ids.shape[1], device=ids.device)[None]  # (1, T)
        return self._embed(ids, positions)

    def _embed(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        return self.positions.add_to_embeddings(self.token_embedding(ids), positions)

    def forward(
        self,
        ids: torch.Tensor,
        *,
        positions: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        extrapolate: bool = False,
    ) -> torch.Tensor:
        """ids: (B, T) int64 -> logits (B, T, V).

        - ``attention_mask``: (B, T) bool, False at padding tokens (left-pad batched
          prompts), or an explicit (B, T, S) bool table "query t may see key s"
          (S = cached + T), ANDed with the causal rule, e.g. a document mask.
        - ``positions``: (B, T) int64; by default each row counts its own real
          tokens, continuing from the cache.
        - ``cache``: a ``KVCache``; ids are the tokens after the cached ones, and
          their keys and values are appended.
        - ``extrapolate``: allow positions at or past ``context_length`` (every
          scheme but learned positions can run there; quality is another matter).
        """
        self._check_ids(ids)
        layout = self.layout(
            ids,
            positions=positions,
            attention_mask=attention_mask,
            cache=cache,
            extrapolate=extrapolate,
        )
        x = self.dropout(self._embed(ids, layout.positions))  # (B, T, D)
        for i, block in enumerate(self.blocks):
            layer_cache = None if cache is None else cache.layers[i]
            x = block(x, layout=layout, cache=layer_cache)
        return self.head(self.final_norm(x))  # (B, T, V)

    def layout(
        self,
        ids: torch.Tensor,
        *,
        positions: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        extrapolate: bool = False,
    ) -> SequenceLayout:
        """Positions and masks of one forward pass. Checks the positions against
        the window first, then books the cache's new slots (so a refused call
        leaves the cache as it was)."""
        B, T = ids.shape
        key_mask, explicit = _split_mask(attention_mask, B, T, cache)
        counting = positions is None and cache is None  # 0 … T-1 at most
        if positions is None:
            positions = _default_positions(T, key_mask, cache, ids.device)
        elif positions.shape != (B, T) or positions.is_floating_point():
            raise ValueError(
                f"positions must be (B, T) = {(B, T)} integers, got "
                f"{tuple(positions.shape)} {positions.dtype}"
            )
        self._check_positions(positions, extrapolate, counting=counting)
        if cache is None:
            return SequenceLayout(positions, positions, key_mask, explicit)
        key_positions, key_mask = cache.extend(positions, key_mask)
        return SequenceLayout(positions, key_positions, key_mask, explicit)

    def _check_ids(self, ids: torch.Tensor) -> None:
        if ids.dim() != 2 or ids.is_floating_point():
            raise ValueError(
                f"ids must be (B, T) integers, got {tuple(ids.shape)} {ids.dtype}"
            )
        # Reading the range back is a host sync; a compiled graph skips it (it
        # would break the graph) and relies on the embedding's own index check.
        if ids.numel() and not torch.compiler.is_compiling():
            low, high = (int(t) for t in torch.aminmax(ids))
            V = self.config.vocab_size
            if low < 0 or high >= V:
                bad = low if low < 0 else high
                raise ValueError(
                    f"token id {bad} is outside 0..{V - 1} (vocab_size={V})"
                )

    def _check_positions(
        self, positions: torch.Tensor, extrapolate: bool, *, counting: bool
    ) -> None:
        limit = self.config.context_length
        if counting and positions.shape[1] <= limit:
            return  # positions count from 0: no need to read them from the device
        end = int(positions.max()) + 1
        if end <= limit:
            return
        if not self.positions.extrapolates:
            raise ValueError(
                f"position {end - 1} needs a sequence of {end} tokens, but learned "
                f"positions only exist up to context_length={limit}"
            )
        if not extrapolate:
            raise ValueError(
                f"sequence of {end} tokens exceeds context_length={limit}; pass "
                "extrapolate=True to run past the trained window "
                f"({self.config.position} positions allow it)"
            )


def _split_mask(mask, B: int, T: int, cache: KVCache | None):
    """(key-padding mask (B, T) or None, explicit table (B, T, S) or None)."""
    if mask is None:
        return None, None
    if mask.dtype != torch.bool:
        raise ValueError(f"attention_mask must be bool, got {mask.dtype}")
    S = T + (0 if cache is None else cache.filled)
    if mask.shape == (B, T):
        return mask, None
    if mask.shape == (B, T, S):
        return None, mask
    raise ValueError(
        f"attention_mask must be (B, T) = {(B, T)} or (B, T, S) = {(B, T, S)}, "
        f"got {tuple(mask.shape)}"
    )


def _default_positions(T: int, key_mask, cache: KVCache | None, device):
    """Each row counts its real tokens, continuing from the cache: (B|1, T)."""
    if key_mask is None:
        positions = torch.arange(T, device=device)[None]  # (1, T)
    else:
        positions = (key_mask.long().cumsum(dim=1) - 1).clamp(min=0)  # (B, T)
    if cache is not None:
        positions = positions + cache.lengths[:, None]  # (B, T)
    return positions
