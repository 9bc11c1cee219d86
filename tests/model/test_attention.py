from __future__ import annotations

import dataclasses

import pytest
import torch
from einops import rearrange, repeat

from llmlab.model import PRESETS, CausalSelfAttention

TINY = PRESETS["tiny"]
X = torch.randn(
    2, 10, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64
)


def _attention(**changes) -> CausalSelfAttention:
    torch.manual_seed(0)
    return CausalSelfAttention(dataclasses.replace(TINY, **changes)).double()


@pytest.mark.parametrize("position", ["none", "rope", "alibi"])
@pytest.mark.parametrize("extra", [{}, {"attention_window": 3}, {"n_kv_heads": 2}])
def test_module_paths_agree(position, extra) -> None:
    outputs = []
    for implementation in ("reference", "sdpa", "flash"):
        module = _attention(
            position=position, attention=implementation, flash_block_size=4, **extra
        )
        outputs.append(module(X))
    assert torch.allclose(outputs[0], outputs[1], atol=1e-10)
    assert torch.allclose(outputs[0], outputs[2], atol=1e-10)


@pytest.mark.parametrize("position", ["none", "rope", "alibi"])
def test_attention_weights_are_the_ones_the_sdpa_path_uses(position) -> None:
    module = _attention(attention="sdpa", position=position, n_kv_heads=2)
    weights = module.attention_weights(X)
    assert weights.shape == (2, TINY.n_heads, 10, 10)
    assert torch.allclose(
        weights.sum(-1), torch.ones(2, TINY.n_heads, 10, dtype=X.dtype)
    )
    assert torch.all(weights.triu(1) == 0), "a token attended to the future"
    # Rebuild the output from the weights: it must equal the fused forward.
    v = rearrange(module.value(X), "b s (k d) -> b k s d", d=TINY.d_head)
    v = repeat(v, "b k s d -> b (k g) s d", g=TINY.n_heads // 2)
    y = module.out(rearrange(weights @ v, "b h t d -> b t (h d)"))
    assert torch.allclose(y, module(X), atol=1e-10)


def test_grouped_query_equals_multi_head_with_shared_key_value_weights() -> None:
    gqa = _attention(n_kv_heads=2)
    mha = _attention()
    H, K, Dh = TINY.n_heads, 2, TINY.d_head
    with torch.no_grad():
        mha.query.load_state_dict(gqa.query.state_dict())
        mha.out.load_state_dict(gqa.out.state_dict())
        for name in ("key", "value"):
            small, big = getattr(gqa, name), getattr(mha, name)
            w = rearrange(small.weight, "(k d) i -> k d i", k=K)
            big.weight.copy_(
                rearrange(
                    repeat(w, "k d i -> k g d i", g=H // K), "k g d i -> (k g d) i"
                )
            )
            b = rearrange(small.bias, "(k d) -> k d", k=K)
            big.bias.copy_(repeat(b, "k d -> (k g d)", g=H // K))
    assert gqa.key.weight.shape == (K * Dh, TINY.d_model)
    assert torch.allclose(gqa(X), mha(X), atol=1e-10)


def test_sliding_window_forgets_tokens_outside_the_window() -> None:
    module = _attention(attention_window=3)
    changed = X.clone()
    changed[:, 0] += 1.0  # token 0 is outside the window of tokens 3 and later
    assert torch.allclose(module(X)[:, 3:], module(changed)[:, 3:], atol=1e-12)
    assert not torch.allclose(module(X)[:, 2], module(changed)[:, 2])
