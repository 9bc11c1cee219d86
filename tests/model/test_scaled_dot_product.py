"""All attention implementations agree: outputs and gradients, masks, biases, shapes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from llmlab.model import (
    AttentionMask,
    alibi_bias,
    alibi_slopes,
    attend,
    reference_attention,
)

MASKS = {
    "causal": AttentionMask(),
    "window": AttentionMask(window=5),
    "strided": AttentionMask(stride=4),
    "window+strided": AttentionMask(window=3, stride=6),
}
SHAPES = [(1, 1, 1, 8), (2, 3, 17, 8), (1, 4, 64, 16), (2, 2, 33, 4)]


def _qkv(B, H, T, Dh, S=None, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    S = T if S is None else S
    shapes = [(B, H, T, Dh), (B, H, S, Dh), (B, H, S, Dh)]
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in shapes]


def _run(implementation, q, k, v, **kwargs):
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    y = attend(q, k, v, implementation=implementation, **kwargs)
    upstream = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    (y * upstream).sum().backward()
    return y, q.grad, k.grad, v.grad


def test_two_by_two_by_hand() -> None:
    # One head, two tokens, Dh = 1: token 0 sees only itself; token 1 mixes both.
    q = torch.tensor([[[[1.0], [2.0]]]])
    k = torch.tensor([[[[1.0], [0.0]]]])
    v = torch.tensor([[[[10.0], [20.0]]]])
    y, weights = reference_attention(q, k, v)
    # scores of token 1: [2*1, 2*0] / sqrt(1) -> softmax([2, 0])
    w1 = math.exp(2) / (math.exp(2) + 1)
    assert torch.allclose(weights[0, 0], torch.tensor([[1.0, 0.0], [w1, 1 - w1]]))
    assert torch.allclose(y[0, 0, :, 0], torch.tensor([10.0, 10 * w1 + 20 * (1 - w1)]))


def test_reference_matches_torch_sdpa_directly() -> None:
    q, k, v = _qkv(2, 3, 9, 8)
    y, weights = reference_attention(q, k, v)
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(y, want, atol=1e-12)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 9, dtype=q.dtype))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("implementation", ["sdpa", "flash"])
def test_implementations_agree_with_reference(implementation, mask_name, shape) -> None:
    q, k, v = _qkv(*shape)
    mask = MASKS[mask_name]
    want = _run("reference", q, k, v, mask=mask)
    got = _run(implementation, q, k, v, mask=mask, block_size=7)
    for name, a, b in zip(["output", "dq", "dk", "dv"], got, want):
        assert torch.allclose(a, b, atol=1e-10), f"{name} differs"


@pytest.mark.parametrize("implementation", ["sdpa", "flash"])
def test_implementations_agree_with_an_alibi_bias(implementation) -> None:
    q, k, v = _qkv(2, 4, 21, 8)
    slopes = alibi_slopes(4).double()

    def bias(q_pos, k_pos):
        return alibi_bias(slopes, q_pos, k_pos)

    want = _run("reference", q, k, v, bias=bias)
    got = _run(implementation, q, k, v, bias=bias, block_size=8)
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("implementation", ["sdpa", "flash"])
def test_fewer_queries_than_keys_as_with_a_cache(implementation) -> None:
    q, k, v = _qkv(1, 2, 3, 8, S=11)
    want = _run("reference", q, k, v, mask=AttentionMask(window=4))
    got = _run(implementation, q, k, v, mask=AttentionMask(window=4), block_size=4)
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("block_size", [1, 5, 64, 200])
def test_flash_does_not_depend_on_the_tile_size(block_size) -> None:
    q, k, v = _qkv(1, 2, 40, 8, dtype=torch.float32)
    want = _run("sdpa", q, k, v)
    got = _run("flash", q, k, v, block_size=block_size)
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-5)


def test_flash_keeps_float32_accumulators_for_bfloat16_inputs() -> None:
    q, k, v = _qkv(1, 2, 50, 16, dtype=torch.float32)
    want = attend(q, k, v, implementation="reference")
    got = attend(
        q.bfloat16(), k.bfloat16(), v.bfloat16(), implementation="flash", block_size=16
    )
    assert got.dtype == torch.bfloat16
    assert torch.allclose(got.float(), want, atol=3e-2)


def test_bad_arguments_are_named() -> None:
    q, k, v = _qkv(1, 1, 4, 8)
    with pytest.raises(ValueError, match="implementation='fast'"):
        attend(q, k, v, implementation="fast")
    with pytest.raises(ValueError, match="dropout_p=0.1"):
        attend(q, k, v, implementation="flash", dropout_p=0.1)
    with pytest.raises(ValueError, match=r"more queries \(4\) than keys \(2\)"):
        attend(q, k[:, :, :2], v[:, :, :2], implementation="sdpa")
