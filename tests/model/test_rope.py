from __future__ import annotations

import pytest
import torch

from llmlab.model import apply_rope, rope_angles


def test_angles_by_hand() -> None:
    angles = rope_angles(torch.tensor([0, 3]), 4, theta=100.0)
    assert torch.allclose(angles, torch.tensor([[0.0, 0.0], [3.0, 0.3]]))


def test_rotation_keeps_lengths_and_position_zero_is_identity() -> None:
    x = torch.randn(2, 3, 5, 8, generator=torch.Generator().manual_seed(0))
    rotated = apply_rope(x, torch.arange(5))
    assert torch.allclose(rotated.norm(dim=-1), x.norm(dim=-1), atol=1e-5)
    assert torch.allclose(rotated[:, :, 0], x[:, :, 0])


@pytest.mark.parametrize("shift", [1, 7, 100])
def test_scores_depend_only_on_relative_position(shift) -> None:
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 1, 1, 6, 16, generator=g, dtype=torch.float64)
    pos = torch.tensor([0, 1, 2, 5, 9, 20])
    scores = apply_rope(q, pos) @ apply_rope(k, pos).transpose(-2, -1)
    shifted = apply_rope(q, pos + shift) @ apply_rope(k, pos + shift).transpose(-2, -1)
    # Angles are float32 (as in practice), so large positions carry ~1e-5 rounding.
    assert torch.allclose(scores, shifted, atol=1e-4)


def test_matches_huggingface_llama_rotary_embedding() -> None:
    pytest.importorskip("transformers")
    from transformers.models.llama.modeling_llama import rotate_half

    x = torch.randn(1, 2, 7, 8, generator=torch.Generator().manual_seed(2))
    angles = rope_angles(torch.arange(7), 8)
    emb = torch.cat([angles, angles], dim=-1)  # HF's layout: (T, Dh)
    want = x * emb.cos() + rotate_half(x) * emb.sin()
    assert torch.allclose(apply_rope(x, torch.arange(7)), want, atol=1e-6)


def test_odd_head_width_is_rejected() -> None:
    with pytest.raises(ValueError, match="even d_head, got 5"):
        rope_angles(torch.arange(3), 5)
