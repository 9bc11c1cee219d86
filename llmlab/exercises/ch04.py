"""Checkers for chapter 04, the transformer block: folding a norm's scale and shift
into the next linear layer, what a norm keeps, the size of the residual stream across
depth, and counting a Llama-style block.

Right answers come from ``llmlab.model`` (``LayerNorm``, ``RMSNorm``, ``GPT``,
``Block``) run or built on the meta device."""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise, multiple_choice, question
from llmlab.model import GPT, PRESETS, Block, LayerNorm, RMSNorm


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


def _fold_cases() -> list[tuple[str, torch.nn.Module, torch.nn.Linear]]:
    """(label, norm with a non-trivial scale and shift, the linear layer reading it)."""
    g = torch.Generator().manual_seed(5)
    cases = []
    for label, norm, d_out, bias in [
        ("RMSNorm(8), then Linear(8 -> 12) without bias", RMSNorm(8), 12, False),
        ("LayerNorm(8), then Linear(8 -> 8) with bias", LayerNorm(8), 8, True),
        ("LayerNorm(16), then Linear(16 -> 5) without bias", LayerNorm(16), 5, False),
        (
            "LayerNorm(6) without shift, then Linear(6 -> 10) with bias",
            LayerNorm(6, bias=False),
            10,
            True,
        ),
    ]:
        D = norm.weight.shape[0]
        linear = torch.nn.Linear(D, d_out, bias=bias)
        with torch.no_grad():
            for p in [*norm.parameters(), *linear.parameters()]:
                p.copy_(torch.randn(p.shape, generator=g))
            norm.weight.add_(1.0)  # a scale around 1, as after training
        cases.append((label, norm, linear))
    return cases


@exercise("fold_norm")
def verify_fold_norm(fn) -> None:
    """``fold_norm(norm, linear)`` -> (weight, bias): a linear layer that, reading the
    plain normalised vector (unit scale, zero shift), gives linear(norm(x))."""
    x = torch.randn(3, 4, 16, generator=torch.Generator().manual_seed(6)) * 3 + 1
    for label, norm, linear in _fold_cases():
        layers = {"linear": linear, "norm": norm}
        before = {
            f"{k}.{n}": p.detach().clone()
            for k, layer in layers.items()
            for n, p in layer.named_parameters()
        }
        with torch.no_grad():
            got = fn(norm, linear)
        assert isinstance(got, (tuple, list)) and len(got) == 2, (
            f"{label}: expected a pair (weight, bias), got {got!r:.80}"
        )
        weight, bias = got
        d_out, D = linear.weight.shape
        _expect_tensor(f"{label}, the weight", weight)
        assert weight.shape == (d_out, D), (
            f"{label}: the weight has shape {tuple(weight.shape)}, want {(d_out, D)}, "
            "stored like nn.Linear's: (out, in)"
        )
        if bias is None:
            bias = torch.zeros(d_out)
        _expect_tensor(f"{label}, the bias", bias)
        assert bias.shape == (d_out,), (
            f"{label}: the bias has shape {tuple(bias.shape)}, want {(d_out,)}"
        )
        for k, layer in layers.items():
            for n, p in layer.named_parameters():
                assert torch.equal(p, before[f"{k}.{n}"]), (
                    f"{label}: `{k}.{n}` changed; build new tensors and leave both "
                    "layers as they are"
                )
        x_ = x[..., :D]
        with torch.no_grad():
            want = linear(norm(x_))
            plain = type(norm)(D, eps=norm.eps)  # unit scale, zero shift
            folded = F.linear(plain(x_), weight, bias)
        shown = [
            [round(v, 3) for v in t.flatten()[:3].tolist()] for t in (folded, want)
        ]
        assert torch.allclose(folded, want, atol=1e-4, rtol=1e-4), (
            f"{label}: the folded layer on the plain normalised x gives {shown[0]}..., "
            f"linear(norm(x)) gives {shown[1]}... Hint: the scale multiplies input "
            "feature i, so it scales column i of the weight (weights are stored (out, "
            "in)); the shift is a constant input vector, so what it contributes to "
            "the output is a constant too."
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
