"""Padded batches, packed sequences and cached decoding: one forward, any layout."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch

from llmlab.model import GPT, PRESETS, KVCache, SequenceLayout, attention_maps

TINY = PRESETS["tiny"]
SCHEMES = ["none", "sinusoidal", "learned", "rope", "alibi"]
IMPLEMENTATIONS = ["reference", "sdpa", "flash"]
VARIANTS = list(itertools.product(SCHEMES, IMPLEMENTATIONS))
T = 10


def _model(position: str, attention: str, **changes) -> GPT:
    config = dataclasses.replace(
        TINY, position=position, attention=attention, flash_block_size=4, **changes
    )
    return GPT(config, generator=torch.Generator().manual_seed(0)).eval()


def _prompts(lengths, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(1, TINY.vocab_size, (n,), generator=g) for n in lengths]


def _left_pad(prompts: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), width, dtype=torch.long)
    mask = torch.zeros(len(prompts), width, dtype=torch.bool)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :], mask[row, width - len(p) :] = p, True
    return ids, mask


@pytest.mark.parametrize("position, attention", VARIANTS)
@torch.no_grad()
def test_left_padded_batch_equals_each_prompt_alone(position, attention) -> None:
    model = _model(position, attention)
    prompts = _prompts(range(1, T + 1))
    ids, mask = _left_pad(prompts)
    logits = model(ids, attention_mask=mask)  # (B, T, V)
    for row, p in enumerate(prompts):
        alone = model(p[None])[0]
        got = logits[row, T - len(p) :]
        assert torch.allclose(got, alone, atol=1e-5), (row, (got - alone).abs().max())


@pytest.mark.parametrize("position, attention", VARIANTS)
@torch.no_grad()
def test_padded_prefill_then_20_decode_steps_equals_each_row_alone(
    position, attention
) -> None:
    model = _model(position, attention)
    prompts = _prompts(range(1, T + 1), seed=1)
    ids, mask = _left_pad(prompts)
    cache = KVCache(model.config, batch_size=len(prompts), max_len=T + 20)
    logits = model(ids, attention_mask=mask, cache=cache)[:, -1]  # (B, V)
    steps = [logits]
    for _ in range(20):
        next_ids = steps[-1].argmax(dim=-1, keepdim=True)  # (B, 1) greedy
        ids = torch.cat([ids, next_ids], dim=1)
        steps.append(model(next_ids, cache=cache)[:, -1])
    assert cache.lengths.tolist() == [len(p) + 20 for p in prompts]
    for row, p in enumerate(prompts):
        sequence = ids[row, T - len(p) :]  # the prompt and what it generated
        alone = model(sequence[None])[0, len(p) - 1 :]  # (21, V)
        got = torch.stack([s[row] for s in steps])
        assert torch.allclose(got, alone, atol=1e-5), (row, (got - alone).abs().max())


@pytest.mark.parametrize("position, attention", VARIANTS)
@torch.no_grad()
def test_packed_documents_with_a_document_mask_equal_each_alone(
    position, attention
) -> None:
    model = _model(position, attention)
    documents = _prompts([3, 5, 4], seed=2)
    ids = torch.cat(documents)[None]  # (1, 12): three documents back to back
    doc = torch.cat([torch.full((len(d),), i) for i, d in enumerate(documents)])
    same_doc = doc[:, None] == doc[None, :]  # (T, T) block-diagonal
    positions = torch.cat([torch.arange(len(d)) for d in documents])[None]
    logits = model(ids, positions=positions, attention_mask=same_doc[None])[0]
    start = 0
    for d in documents:
        alone = model(d[None])[0]
        assert torch.allclose(logits[start : start + len(d)], alone, atol=1e-5)
        start += len(d)


@pytest.mark.parametrize("attention", IMPLEMENTATIONS)
@torch.no_grad()
def test_defaults_equal_an_all_true_mask_and_counting_positions(attention) -> None:
    model = _model("rope", attention)
    ids = _prompts([12, 12])
    ids = torch.stack(ids)
    plain = model(ids)
    explicit = model(
        ids,
        positions=torch.arange(12).expand(2, 12),
        attention_mask=torch.ones(2, 12, dtype=torch.bool),
    )
    assert torch.allclose(plain, explicit, atol=1e-6)


def test_plain_layout_is_one_sequence_from_position_zero() -> None:
    layout = SequenceLayout.plain(4)
    assert layout.positions.tolist() == [[0, 1, 2, 3]]
    assert layout.key_mask is None and layout.explicit is None


@pytest.mark.parametrize("attention", IMPLEMENTATIONS)
@torch.no_grad()
def test_attention_maps_are_causal_and_ignore_padding(attention) -> None:
    model = _model("alibi", attention, n_kv_heads=2)
    ids, mask = _left_pad(_prompts([3, 6]))
    maps = attention_maps(model, ids, attention_mask=mask)
    assert len(maps) == TINY.n_layers
    for weights in maps:
        assert weights.shape == (2, TINY.n_heads, 6, 6)
        assert torch.allclose(weights.sum(-1), torch.ones(2, TINY.n_heads, 6))
        assert torch.all(weights.triu(1) == 0)
        # Real tokens of the short row never look at its three padding slots.
        assert torch.all(weights[0, :, 3:, :3] == 0)
