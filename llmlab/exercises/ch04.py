"""Checkers for chapter 04, the transformer block: RMSNorm, what a norm keeps, the size
of the residual stream across depth, and counting a Llama-style block.

Right answers come from PyTorch (``F.rms_norm``) and from ``llmlab.model`` (``GPT``,
``Block``) run or built on the meta device."""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise, multiple_choice, question
from llmlab.model import GPT, PRESETS, Block


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


@exercise("rms_norm")
def verify_rms_norm(fn) -> None:
    """``rms_norm(x, weight, eps)``: x (..., D), weight (D,) -> (..., D)."""
    g = torch.Generator().manual_seed(5)
    cases = {
        "one vector of 4": (torch.tensor([1.0, -2.0, 3.0, 0.5]), 1e-6),
        "rows far from zero mean (RMSNorm does not subtract it)": (
            torch.randn(3, 8, generator=g) + 5.0,
            1e-6,
        ),
        "a (B, T, D) = (2, 3, 16) batch": (torch.randn(2, 3, 16, generator=g), 1e-5),
        "tiny inputs, where eps matters": (torch.full((2, 4), 1e-4), 1e-6),
    }
    for label, (x, eps) in cases.items():
        weight = 1.0 + 0.1 * torch.randn(x.shape[-1], generator=g)
        got = fn(x.clone(), weight.clone(), eps)
        _expect_tensor(label, got)
        want = F.rms_norm(x, (x.shape[-1],), weight, eps)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)}"
        )
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-4), (
            f"{label}: got {got.flatten()[:4].tolist()}..., want "
            f"{want.flatten()[:4].tolist()}... Hint: divide by sqrt(mean(x**2) + eps) "
            "over the last dimension, then multiply by weight."
        )


@question("norm_of_offset_vector")
def verify_norm_of_offset_vector(answer) -> None:
    """A token vector has every entry close to 5: 5 plus noise of size 0.01. With
    unit scale (and zero shift), what do the two norms make of it? (a) both give
    about the same vector; (b) LayerNorm gives entries of size about 1 that follow
    the noise, RMSNorm gives entries all close to 1; (c) LayerNorm gives entries all
    close to 1, RMSNorm entries of size about 1 that follow the noise; (d) both give
    entries close to 0."""
    why_not = {
        "a": "they differ exactly here: LayerNorm subtracts the mean (5) first, "
        "RMSNorm does not. Try both on torch.full((8,), 5.0) + 0.01 * torch.randn(8).",
        "c": "the other way round: subtracting the mean is LayerNorm's step, which "
        "leaves only the noise, and dividing the noise by its own spread makes it "
        "size 1. RMSNorm divides 5 + noise by about 5.",
        "d": "neither can return near-zero entries for this input: both divide by a "
        "measure of the vector's own size, so the result has a root mean square of "
        "about 1.",
    }
    multiple_choice(answer, "b", why_not)


def _stream_cases() -> list[tuple[str, GPT, torch.Tensor]]:
    # A private RNG state: the learner's own global seed is left as it was.
    cases = []
    for placement, n_layers, D, B, T in [
        ("pre", 3, 32, 2, 8),
        ("post", 2, 32, 1, 5),
        ("pre", 5, 16, 3, 4),
    ]:
        config = replace(
            PRESETS["tiny"],
            d_model=D,
            d_ff=4 * D,
            n_layers=n_layers,
            norm_placement=placement,
        )
        model = GPT(config, generator=torch.Generator().manual_seed(n_layers)).eval()
        with torch.no_grad():  # unequal blocks, so that the order of the list matters
            for i, block in enumerate(model.blocks):
                block.ffn.down.weight.mul_(1 + 3 * i)
        ids = torch.randint(0, 256, (B, T), generator=torch.Generator().manual_seed(B))
        label = f"{placement}-LN, {n_layers} blocks, D={D}, ids of shape {(B, T)}"
        cases.append((label, model, ids))
    return cases


@exercise("residual_stream_rms")
def verify_residual_stream_rms(fn) -> None:
    """``residual_stream_rms(model, ids)``: the root mean square of the residual
    stream's entries after the embedding and after each block, n_layers + 1 floats."""
    for label, model, ids in _stream_cases():
        with torch.no_grad():
            h = model.embed(ids)
            want = [h.pow(2).mean().sqrt().item()]
            for block in model.blocks:
                h = block(h)
                want.append(h.pow(2).mean().sqrt().item())
        got = fn(model, ids.clone())
        assert isinstance(got, (list, tuple, torch.Tensor)), (
            f"{label}: expected a list of floats, got {type(got).__name__}"
        )
        got = [float(v) for v in got]
        assert len(got) == len(want), (
            f"{label}: got {len(got)} numbers, want {len(want)}: one after the "
            "embedding and one after each block (not after the final norm)."
        )
        bad = [i for i, (a, b) in enumerate(zip(got, want)) if abs(a - b) > 1e-4 * b]
        assert not bad, (
            f"{label}: got {[round(v, 4) for v in got]}, want "
            f"{[round(v, 4) for v in want]}. The stream is what model.embed(ids) "
            "returns, then what each block returns in turn; its RMS is "
            "sqrt(mean(h ** 2)) over every entry."
        )


def llama_d_ff(d_model: int, multiple_of: int = 256) -> int:
    """Llama's FFN width for SwiGLU: 8/3 of d_model (truncated to an integer),
    rounded up to a multiple of ``multiple_of``; 11,008 for d_model 4,096."""
    hidden = int(8 * d_model / 3)
    return multiple_of * math.ceil(hidden / multiple_of)


@exercise("llama_block_params")
def verify_llama_block_params(fn) -> None:
    """``llama_block_params(d_model, n_heads, n_kv_heads)``: parameters of one
    Llama-style block, counted by building ``llmlab``'s ``Block`` on the meta device."""
    cases = [(64, 4, 4), (64, 4, 1), (512, 8, 2), (4096, 32, 32), (8192, 64, 8)]
    for d_model, n_heads, n_kv_heads in cases:
        config = replace(
            PRESETS["tiny"],
            d_model=d_model,
            n_heads=n_heads,
            n_kv_heads=n_kv_heads,
            d_ff=llama_d_ff(d_model),
            ffn="swiglu",
            norm="rmsnorm",
            position="rope",
            bias=False,
        )
        with torch.device("meta"):
            want = sum(p.numel() for p in Block(config).parameters())
        label = f"d_model={d_model}, n_heads={n_heads}, n_kv_heads={n_kv_heads}"
        got = fn(d_model, n_heads, n_kv_heads)
        assert isinstance(got, int), f"expected a Python int, got {type(got).__name__}"
        gqa = " Key and value have n_kv_heads heads of width d_model / n_heads."
        assert got == want, (
            f"{label}: got {got:,}, want {want:,} (off by {got - want:+,}). Hint: no "
            "biases anywhere; three FFN matrices of d_model x d_ff with d_ff from "
            "the rule above; one scale vector per RMSNorm."
            + (gqa if n_kv_heads != n_heads else "")
        )
