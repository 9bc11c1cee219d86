"""The tiled path's point: what it keeps for backward grows linearly with T."""

from __future__ import annotations

import torch

from llmlab.model import AttentionMask, flash_attention, reference_attention


def _saved_elements(fn, T: int) -> int:
    """Elements autograd keeps for the backward pass of fn on a (1, 1, T, 8) input."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(1, 1, T, 8, generator=g, requires_grad=True) for _ in range(3)
    )
    saved = []

    def pack(tensor):
        saved.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(q, k, v)
    return sum(saved)


def test_saved_for_backward_is_linear_for_flash_quadratic_for_reference() -> None:
    def flash(q, k, v):
        return flash_attention(q, k, v, mask=AttentionMask(), block_size=16)

    def reference(q, k, v):
        return reference_attention(q, k, v)[0]

    flash_small, flash_big = _saved_elements(flash, 64), _saved_elements(flash, 256)
    ref_small, ref_big = _saved_elements(reference, 64), _saved_elements(reference, 256)
    assert flash_big == 4 * flash_small  # 4x longer -> 4x memory
    assert ref_big > 12 * ref_small  # dominated by the (T, T) tables: ~16x


def test_output_rows_are_convex_combinations_of_values() -> None:
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 1, 2, 30, 4, generator=g)
    v = torch.ones(1, 2, 30, 4)
    y = flash_attention(q, k, v, mask=AttentionMask(window=4), block_size=8)
    assert torch.allclose(y, torch.ones_like(y), atol=1e-6)
