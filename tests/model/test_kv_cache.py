"""Cached forward passes give the same logits as recomputing the whole prefix."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch

from llmlab.model import GPT, PRESETS, KVCache

TINY = PRESETS["tiny"]
IDS = torch.randint(0, 256, (2, 20), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "position, attention",
    list(
        itertools.product(
            ["none", "sinusoidal", "learned", "rope", "alibi"],
            ["reference", "sdpa", "flash"],
        )
    ),
)
def test_prefill_then_one_token_at_a_time_equals_full_forward(position, attention):
    config = dataclasses.replace(
        TINY, position=position, attention=attention, flash_block_size=4
    )
    model = GPT(config, generator=torch.Generator().manual_seed(1)).eval()
    with torch.no_grad():
        want = model(IDS)
        cache = KVCache(config, batch_size=2)
        pieces = [model(IDS[:, :7], cache=cache)]
        pieces += [model(IDS[:, t : t + 1], cache=cache) for t in range(7, 20)]
    assert cache.length == 20
    assert torch.allclose(torch.cat(pieces, dim=1), want, atol=1e-5)


@pytest.mark.parametrize(
    "changes",
    [
        dict(n_kv_heads=2, position="rope", norm="rmsnorm", ffn="swiglu"),
        dict(attention_window=5, attention_stride=3),
        dict(norm_placement="post"),
    ],
)
def test_chunks_of_any_size_equal_full_forward(changes) -> None:
    config = dataclasses.replace(TINY, **changes)
    model = GPT(config, generator=torch.Generator().manual_seed(2)).eval()
    with torch.no_grad():
        want = model(IDS)
        cache = KVCache(config, batch_size=2, max_len=20)
        got = torch.cat(
            [
                model(IDS[:, a:b], cache=cache)
                for a, b in [(0, 3), (3, 4), (4, 12), (12, 20)]
            ],
            dim=1,
        )
    assert torch.allclose(got, want, atol=1e-5)


def test_grouped_query_attention_shrinks_the_cache() -> None:
    full = KVCache(TINY, batch_size=1)
    grouped = KVCache(dataclasses.replace(TINY, n_kv_heads=1), batch_size=1)
    assert full.nbytes() == TINY.n_heads * grouped.nbytes()
    shape = (1, TINY.n_heads, TINY.context_length, TINY.d_head)
    assert full.nbytes() == 2 * TINY.n_layers * torch.zeros(shape).nbytes


def test_overflow_and_bad_sizes_are_named() -> None:
    model = GPT(TINY).eval()
    cache = KVCache(TINY, batch_size=2, max_len=8)
    with pytest.raises(ValueError, match=r"cache full: 0 cached \+ 9 new tokens"):
        model(IDS[:, :9], cache=cache)
    with pytest.raises(ValueError, match="max_len=0 must be a positive int"):
        KVCache(TINY, batch_size=1, max_len=0)
    longer = KVCache(TINY, batch_size=2, max_len=80)
    with torch.no_grad():
        model(torch.zeros(2, 64, dtype=torch.long), cache=longer)
    with pytest.raises(ValueError, match="learned positions only exist up to"):
        model(IDS[:, :1], cache=longer)


@torch.no_grad()
def test_rope_runs_past_the_window_with_a_longer_cache_when_allowed() -> None:
    config = dataclasses.replace(TINY, position="rope")
    model = GPT(config, generator=torch.Generator().manual_seed(4)).eval()
    ids = torch.randint(0, 256, (1, 70), generator=torch.Generator().manual_seed(1))
    cache = KVCache(config, batch_size=1, max_len=70)
    model(ids[:, :64], cache=cache)
    with pytest.raises(ValueError, match="extrapolate=True"):
        model(ids[:, 64:65], cache=cache)
    assert cache.filled == 64 and cache.lengths.tolist() == [64]  # refused: unchanged
    cache = KVCache(config, batch_size=1, max_len=70)
    got = torch.cat(
        [model(ids[:, :64], cache=cache)]
        + [
            model(ids[:, t : t + 1], cache=cache, extrapolate=True)
            for t in range(64, 70)
        ],
        dim=1,
    )
    assert torch.allclose(got, model(ids, extrapolate=True), atol=1e-5)


@torch.no_grad()
def test_keep_compacts_every_layer_and_generation_continues() -> None:
    """Keeping slots [0, 1] + the last 4 equals a forward over those tokens at
    their original positions. One layer: in deeper models the kept keys of later
    layers also carry what the dropped tokens contributed, so they differ."""
    config = dataclasses.replace(TINY, position="rope", n_layers=1)
    model = GPT(config, generator=torch.Generator().manual_seed(6)).eval()
    ids = IDS[:1, :12]
    cache = KVCache(config, batch_size=1, max_len=12)
    model(ids[:, :10], cache=cache)
    kept = torch.tensor([0, 1, 6, 7, 8, 9])
    cache.keep(kept)
    assert cache.filled == 6 and cache.positions[0, :6].tolist() == kept.tolist()
    got = model(ids[:, 10:12], cache=cache)
    sequence = torch.cat([ids[:, kept], ids[:, 10:12]], dim=1)
    positions = torch.cat([kept, torch.tensor([10, 11])])[None]
    want = model(sequence, positions=positions)[:, -2:]
    assert torch.allclose(got, want, atol=1e-5)
