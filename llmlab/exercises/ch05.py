"""Checkers for chapter 05, positions: sinusoidal shifts, RoPE's base, ALiBi slopes.

Right answers come from ``llmlab.model`` (``sinusoidal_table``, ``rope_angles``),
checked through the property each exercise asks for, and from BLOOM's slopes.
"""

from __future__ import annotations

import math
import warnings

import torch

from llmlab.exercises._core import exercise
from llmlab.model import rope_angles, sinusoidal_table


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


@exercise("sinusoidal_shift")
def verify_sinusoidal_shift(fn) -> None:
    """``sinusoidal_shift(D, offset)``: M with PE(p + offset) = PE(p) @ M for all p."""
    p = torch.arange(200)
    for D, offset in [(2, 1), (4, 3), (16, 10), (64, 37), (64, -5), (32, 0)]:
        label = f"D={D}, offset={offset}"
        got = fn(D, offset)
        _expect_tensor(label, got)
        assert got.shape == (D, D), f"{label}: shape {tuple(got.shape)}, want {(D, D)}"
        here = sinusoidal_table(p + 10, D).double()  # (200, D), positions 10..209
        there = sinusoidal_table(p + 10 + offset, D).double()
        gap = (here @ got.double() - there).abs().max().item()
        assert gap < 1e-3, (
            f"{label}: PE(p) @ M differs from PE(p + offset) by up to {gap:.2e}. Each "
            "(sin, cos) pair at one frequency is a point on a circle: shifting the "
            "position rotates it by offset x frequency, a 2 x 2 block of M."
        )


@exercise("min_rope_base")
def verify_min_rope_base(fn) -> None:
    """``min_rope_base(head_dim, context_length)``: slowest pair turns once."""
    for head_dim, context in [(16, 64), (64, 2048), (128, 4096), (128, 131_072)]:
        label = f"head_dim={head_dim}, context_length={context}"
        got = fn(head_dim, context)
        assert isinstance(got, (int, float)) and got > 1, (
            f"{label}: expected a number above 1, got {got!r}"
        )
        slowest = rope_angles(torch.tensor([context]), head_dim, theta=float(got))
        turn = slowest[0, -1].item() / (2 * math.pi)  # turns of the slowest pair
        assert abs(turn - 1) < 1e-4, (
            f"{label}: with base {got:.6g} the slowest pair turns {turn:.6f} times "
            f"over {context} positions, want exactly 1. Its angle per position is "
            "base ** (-(head_dim - 2) / head_dim); solve for base."
        )


@exercise("alibi_slopes")
def verify_alibi_slopes(fn) -> None:
    """``alibi_slopes(n_heads)``: one slope per head, for a power-of-two head count."""
    with warnings.catch_warnings():  # transformers' tqdm warns about Jupyter widgets
        warnings.simplefilter("ignore")
        from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    for n_heads in [1, 2, 4, 8, 16]:
        # BLOOM's bias for positions (0, 1) is (0, slope): the oracle's slopes.
        bias = build_alibi_tensor(torch.ones(1, 2), n_heads, torch.float64)
        want = bias[:, 0, 1]
        got = fn(n_heads)
        got = torch.as_tensor(got, dtype=torch.float64).flatten()
        assert got.shape == want.shape, (
            f"n_heads={n_heads}: got {got.numel()} slopes, want one per head"
        )
        assert torch.allclose(got, want, rtol=1e-5), (
            f"n_heads={n_heads}: got {got.tolist()}, want {want.tolist()}. Hint: a "
            "geometric sequence starting at 2**(-8 / n_heads) with that same ratio."
        )
