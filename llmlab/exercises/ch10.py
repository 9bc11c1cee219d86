"""Checkers for chapter 10, long context: cache memory, tiles under a window, RoPE
re-rotation after a roll."""

from __future__ import annotations

import dataclasses

import torch

from llmlab.exercises._core import exercise
from llmlab.model import PRESETS, AttentionMask, KVCache, apply_rope


@exercise("kv_cache_bytes")
def verify_kv_cache_bytes(fn) -> None:
    """``kv_cache_bytes(config, batch_size, slots, bytes_per_number)``."""
    cases = [
        (PRESETS["tiny"], 1, 64, 4),
        (PRESETS["small-llama"], 3, 100, 2),
        (dataclasses.replace(PRESETS["small"], n_kv_heads=1), 2, 7, 4),
    ]
    for config, batch, slots, nbytes in cases:
        dtype = {2: torch.bfloat16, 4: torch.float32}[nbytes]
        want = KVCache(config, batch_size=batch, max_len=slots, dtype=dtype).nbytes()
        got = fn(config, batch, slots, nbytes)
        assert got == want, (
            f"layers={config.n_layers}, kv_heads={config.kv_heads}, d_head="
            f"{config.d_head}, batch={batch}, slots={slots}, {nbytes} bytes: got "
            f"{got}, want {want}. Hint: keys and values, every layer, kv heads only."
        )


@exercise("tiles_computed")
def verify_tiles_computed(fn) -> None:
    """``tiles_computed(T, block, window)``: (query tile, key tile) pairs with at
    least one allowed entry under a causal (window=None) or sliding-window mask."""
    for T, block, window in [(8, 4, None), (64, 16, None), (64, 16, 16), (100, 8, 20)]:
        mask = AttentionMask(window=window)
        positions = torch.arange(T)
        want = 0
        for q0 in range(0, T, block):
            for k0 in range(0, T, block):
                tile = mask.tile(positions[q0 : q0 + block], positions[k0 : k0 + block])
                want += bool(tile.any())
        got = fn(T, block, window)
        assert got == want, (
            f"T={T}, block={block}, window={window}: got {got}, want {want}"
        )


@exercise("rerotate")
def verify_rerotate(fn) -> None:
    """``rerotate(keys, shift, theta)``: keys rotated by RoPE at positions p become
    keys rotated at p + shift (shift (T,) int)."""
    g = torch.Generator().manual_seed(0)
    for Dh, theta in [(4, 10_000.0), (16, 500.0)]:
        raw = torch.randn(2, 3, 6, Dh, generator=g)  # (B, K, T, Dh) before RoPE
        old = torch.tensor([0, 1, 2, 40, 41, 42])
        new = torch.tensor([0, 1, 2, 3, 4, 5])  # sinks stay, the rest move down
        got = fn(apply_rope(raw, old, theta=theta), new - old, theta)
        want = apply_rope(raw, new, theta=theta)
        assert torch.allclose(got, want, atol=1e-4), (
            f"Dh={Dh}, theta={theta}: keys differ from a fresh rotation at the new "
            "positions. Hint: rotations add, so rotate by (new - old)."
        )
