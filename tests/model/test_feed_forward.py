from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from llmlab.model import PRESETS, FeedForward, SwiGLUFeedForward
from llmlab.model.feed_forward import make_ffn

X = torch.randn(2, 3, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "kind, activation",
    [
        ("relu", F.relu),
        ("gelu", F.gelu),
        (
            "gelu_tanh",
            lambda h: (
                0.5
                * h
                * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (h + 0.044715 * h**3)))
            ),
        ),
    ],
)
def test_two_layer_ffn_by_formula(kind, activation) -> None:
    ffn = make_ffn(dataclasses.replace(PRESETS["tiny"], ffn=kind))
    assert isinstance(ffn, FeedForward)
    want = ffn.down(activation(ffn.up(X)))
    assert torch.allclose(ffn(X), want, atol=1e-6)


def test_swiglu_by_formula_and_size() -> None:
    config = dataclasses.replace(PRESETS["tiny"], ffn="swiglu", bias=False)
    ffn = make_ffn(config)
    assert isinstance(ffn, SwiGLUFeedForward)
    gate = ffn.gate(X)
    want = ffn.down(gate * torch.sigmoid(gate) * ffn.up(X))
    assert torch.allclose(ffn(X), want, atol=1e-6)
    assert sum(p.numel() for p in ffn.parameters()) == 3 * config.d_model * config.d_ff


def test_each_position_is_transformed_on_its_own() -> None:
    ffn = make_ffn(PRESETS["tiny"])
    assert torch.allclose(ffn(X)[:, 1], ffn(X[:, 1:2])[:, 0], atol=1e-6)
