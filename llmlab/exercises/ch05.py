"""Checkers for chapter 05, positions: sinusoidal encodings, RoPE, ALiBi slopes."""

from __future__ import annotations

import math

import torch

from llmlab.exercises._core import exercise


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


@exercise("sinusoidal_positions")
def verify_sinusoidal_positions(fn) -> None:
    """``sinusoidal_positions(T, D)``: (T, D), sin in even and cos in odd columns."""
    for T, D in [(1, 2), (4, 6), (50, 16), (128, 64)]:
        label = f"T={T}, D={D}"
        got = fn(T, D)
        _expect_tensor(label, got)
        assert got.shape == (T, D), f"{label}: shape {tuple(got.shape)}, want {(T, D)}"
        # The formula from "Attention Is All You Need" (arXiv:1706.03762), section
        # 3.5, evaluated one number at a time in float64.
        want = torch.tensor(
            [
                [
                    math.sin(p / 10000 ** (c / D))
                    if c % 2 == 0
                    else math.cos(p / 10000 ** ((c - 1) / D))
                    for c in range(D)
                ]
                for p in range(T)
            ]
        )
        wrong = (got.double() - want).abs().amax(dim=1) > 1e-4
        if wrong.any():
            p = int(wrong.nonzero()[0])
            raise AssertionError(
                f"{label}: row {p} is {got[p, :4].tolist()}..., want "
                f"{want[p, :4].tolist()}... Hint: columns 2i and 2i+1 share the "
                "frequency 1 / 10000**(2i / D)."
            )


@exercise("rope_rotate")
def verify_rope_rotate(fn) -> None:
    """``rope_rotate(x, positions, base)``: x (..., T, Dh), positions (T,) -> like x.

    Pairs are adjacent columns (0, 1), (2, 3), ... as in RoFormer (arXiv:2104.09864),
    so the oracle is a complex multiplication: pair (a, b) is the number a + ib.
    """
    g = torch.Generator().manual_seed(8)
    cases = [((5, 2), 10000.0), ((2, 3, 7, 8), 10000.0), ((4, 16), 500.0)]
    for shape, base in cases:
        label = f"x of shape {shape}, base={base:g}"
        x = torch.randn(*shape, generator=g)
        T, Dh = shape[-2:]
        positions = torch.arange(T) + 3  # not starting at 0, so offsets matter
        got = fn(x.clone(), positions.clone(), base)
        _expect_tensor(label, got)
        theta = base ** (-torch.arange(0, Dh, 2, dtype=torch.float64) / Dh)  # (Dh/2,)
        angles = positions[:, None].double() * theta  # (T, Dh/2)
        rotation = torch.polar(torch.ones_like(angles), angles)  # (T, Dh/2) complex
        pairs = torch.view_as_complex(x.double().reshape(*shape[:-1], Dh // 2, 2))
        want = torch.view_as_real(pairs * rotation).reshape(shape)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)}"
        )
        norms_kept = torch.allclose(got.double().norm(dim=-1), x.double().norm(dim=-1))
        assert norms_kept, f"{label}: a rotation never changes a vector's length"
        assert torch.allclose(got.double(), want, atol=1e-4), (
            f"{label}: values differ. Hint: pair i = columns (2i, 2i+1) turns by "
            "the angle position * base**(-2i / Dh): "
            "(a, b) -> (a cos - b sin, a sin + b cos)."
        )


@exercise("alibi_slopes")
def verify_alibi_slopes(fn) -> None:
    """``alibi_slopes(n_heads)``: one slope per head, for a power-of-two head count."""
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
