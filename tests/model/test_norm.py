from __future__ import annotations

import dataclasses

import torch
from torch import nn

from llmlab.model import PRESETS, LayerNorm, RMSNorm
from llmlab.model.norm import layer_norm_reference, make_norm


def _x() -> torch.Tensor:
    return 3 + 2 * torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0))


def test_layernorm_matches_torch() -> None:
    ours, theirs = LayerNorm(16), nn.LayerNorm(16)
    with torch.no_grad():
        for module in (ours, theirs):
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-1, 1)
        theirs.load_state_dict(ours.state_dict())
    assert torch.allclose(ours(_x()), theirs(_x()), atol=1e-5)


def test_rmsnorm_matches_torch() -> None:
    ours, theirs = RMSNorm(16, eps=1e-6), nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
        theirs.weight.copy_(ours.weight)
    assert torch.allclose(ours(_x()), theirs(_x()), atol=1e-5)


def test_statistics_after_normalising() -> None:
    y = LayerNorm(16)(_x())
    assert torch.allclose(y.mean(-1), torch.zeros(2, 5), atol=1e-5)
    assert torch.allclose(y.var(-1, unbiased=False), torch.ones(2, 5), atol=1e-3)
    rms = RMSNorm(16)(_x()).pow(2).mean(-1).sqrt()
    assert torch.allclose(rms, torch.ones(2, 5), atol=1e-3)


def test_make_norm_follows_the_config() -> None:
    tiny = PRESETS["tiny"]
    assert isinstance(make_norm(tiny), LayerNorm)
    assert make_norm(dataclasses.replace(tiny, bias=False)).bias is None
    assert isinstance(make_norm(dataclasses.replace(tiny, norm="rmsnorm")), RMSNorm)


def test_fused_layernorm_equals_the_written_out_reference() -> None:
    """Values and gradients, with and without bias."""
    for bias in (True, False):
        norm = LayerNorm(16, bias=bias)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5)
            if bias:
                norm.bias.uniform_(-1, 1)
        x = _x().double().requires_grad_()
        norm = norm.double()
        fused = norm(x)
        reference = layer_norm_reference(x, norm.weight, norm.bias, norm.eps)
        assert torch.allclose(fused, reference, atol=1e-10)
        g = torch.randn_like(fused)
        grads_fused = torch.autograd.grad(fused, [x, norm.weight], g)
        grads_ref = torch.autograd.grad(reference, [x, norm.weight], g)
        for a, b in zip(grads_fused, grads_ref):
            assert torch.allclose(a, b, atol=1e-10)
