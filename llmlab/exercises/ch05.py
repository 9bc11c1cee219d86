"""Checkers for chapter 05, positions: sinusoidal shifts, RoPE's base and how far
apart RoPE still sees two identical vectors as alike.

Right answers come from ``llmlab.model`` (``sinusoidal_table``, ``rope_angles``,
``apply_rope``), checked through the property each exercise asks for.
"""

from __future__ import annotations

import math

import torch

from llmlab.exercises._core import exercise, multiple_choice, question
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


@exercise("rope_similarity")
def verify_rope_similarity(fn) -> None:
    """``rope_similarity(head_dim, base, distances)``: the RoPE score of an all-ones
    query and an all-ones key ``m`` positions apart, divided by head_dim, per m."""
    from llmlab.model import apply_rope

    cases = [
        (8, 10_000.0, [0, 1, 2, 7]),
        (64, 10_000.0, [0, 3, 50, 1000, 4096]),
        (128, 500_000.0, [0, 1, 100, 10_000, 131_072]),
        (16, 100.0, [5, 0, 9]),
    ]
    for head_dim, base, distances in cases:
        label = f"head_dim={head_dim}, base={base:g}, distances={distances}"
        got = fn(head_dim, base, list(distances))
        got = torch.as_tensor(got, dtype=torch.float64).flatten()
        assert got.shape == (len(distances),), (
            f"{label}: got {got.numel()} numbers, want one per distance"
        )
        ones = torch.ones(1, 1, 1, head_dim, dtype=torch.float64)  # (B, H, T, Dh)
        zero = torch.zeros(1, dtype=torch.long)
        key = apply_rope(ones, zero, theta=base)
        want = torch.stack([
            (apply_rope(ones, torch.tensor([m]), theta=base) * key).sum() / head_dim
            for m in distances
        ])  # fmt: skip
        assert torch.allclose(got, want, atol=1e-4), (
            f"{label}: got {[round(v, 4) for v in got.tolist()]}, want "
            f"{[round(v, 4) for v in want.tolist()]}. Each pair (1, 1) of the query "
            "and the key turns by m·θ_i relative to the other, with θ_i = "
            "base^(-2i/head_dim) for i = 0 .. head_dim/2 - 1; divide the dot "
            "product by head_dim, so that distance 0 gives 1."
        )


@question("rope_base_for_long_context")
def verify_rope_base_for_long_context(answer) -> None:
    """A model trained at 4k tokens is extended to 128k. Why raise the RoPE base?
    (a) RoPE has learned parameters that need more room; (b) so that the slowest
    pairs still have not turned all the way round over the longer context, and
    distant positions stay distinguishable; (c) a larger base makes every rotation
    faster, so nearby tokens are told apart better; (d) the base sets the number of
    heads."""
    why_not = {
        "a": "RoPE has no learned parameters: the angles are fixed by the base and "
        "the position (section 4).",
        "c": "it is the other way round: θ_i = base^(-2i/Dh), so a larger base makes "
        "the rotations *slower*.",
        "d": "the base only sets the rotation speeds; the head count is a separate "
        "setting of the model.",
    }
    multiple_choice(answer, "b", why_not)
