from __future__ import annotations

import dataclasses

import torch

from llmlab.model import PRESETS, Block

X = torch.randn(2, 6, 32, generator=torch.Generator().manual_seed(0))


def test_pre_norm_formula() -> None:
    block = Block(PRESETS["tiny"])
    h = X + block.attention(block.norm1(X))
    assert torch.allclose(block(X), h + block.ffn(block.norm2(h)), atol=1e-6)


def test_post_norm_formula() -> None:
    block = Block(dataclasses.replace(PRESETS["tiny"], norm_placement="post"))
    h = block.norm1(X + block.attention(X))
    assert torch.allclose(block(X), block.norm2(h + block.ffn(h)), atol=1e-6)


def test_post_norm_output_is_normalised() -> None:
    block = Block(dataclasses.replace(PRESETS["tiny"], norm_placement="post"))
    y = block(10 * X)
    assert torch.allclose(y.mean(-1), torch.zeros(2, 6), atol=1e-5)
