"""Checkers for chapter 04, the transformer block: norms, SwiGLU, residuals, counts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from llmlab.exercises._core import exercise


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


@exercise("swiglu_ffn")
def verify_swiglu_ffn(fn) -> None:
    """``swiglu_ffn(x, w_gate, w_up, w_down)``: (..., D) -> (..., D)."""
    g = torch.Generator().manual_seed(6)
    for shape, D, F_ in [((5,), 4, 6), ((2, 3), 8, 12), ((2, 4, 3), 16, 40)]:
        label = f"x of shape {(*shape, D)}, d_ff={F_}"
        x = torch.randn(*shape, D, generator=g)
        w_gate = torch.randn(D, F_, generator=g) / D**0.5
        w_up = torch.randn(D, F_, generator=g) / D**0.5
        w_down = torch.randn(F_, D, generator=g) / F_**0.5
        got = fn(x.clone(), w_gate.clone(), w_up.clone(), w_down.clone())
        _expect_tensor(label, got)
        # nn.Linear stores weights as (out, in), hence the transposes.
        want = F.linear(F.silu(F.linear(x, w_gate.T)) * F.linear(x, w_up.T), w_down.T)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)}"
        )
        assert torch.allclose(got, want, atol=1e-5), (
            f"{label}: values differ. Hint: only the gate branch goes through SiLU; "
            "the up branch stays linear, and the two multiply element-wise."
        )


def _pre_ln_cases() -> list[tuple[str, nn.Module, torch.Tensor]]:
    # A private RNG state: the learner's own global seed is left as it was.
    with torch.random.fork_rng():
        torch.manual_seed(7)  # the layers' initial weights and the inputs
        cases = []
        for B, T, D in [(1, 3, 8), (2, 5, 16)]:
            layer = nn.TransformerEncoderLayer(
                D,
                nhead=2,
                dim_feedforward=4 * D,
                dropout=0.0,
                batch_first=True,
                norm_first=True,
            )
            cases.append((f"(B, T, D) = {(B, T, D)}", layer, torch.randn(B, T, D)))
    return cases


@exercise("pre_ln_block")
def verify_pre_ln_block(fn) -> None:
    """``pre_ln_block(x, attention, ffn, norm1, norm2)``, checked against PyTorch's own
    ``nn.TransformerEncoderLayer(norm_first=True)``."""
    for label, layer, x in _pre_ln_cases():

        def attention(h: torch.Tensor, layer=layer) -> torch.Tensor:
            return layer.self_attn(h, h, h, need_weights=False)[0]

        def ffn(h: torch.Tensor, layer=layer) -> torch.Tensor:
            return layer.linear2(layer.activation(layer.linear1(h)))

        with torch.no_grad():
            want = layer(x)
            got = fn(x.clone(), attention, ffn, layer.norm1, layer.norm2)
        _expect_tensor(label, got)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)}"
        )
        assert torch.allclose(got, want, atol=1e-5), (
            f"{label}: values differ from nn.TransformerEncoderLayer(norm_first=True). "
            "Hint: pre-LN normalises the input of each sublayer and adds the "
            "sublayer's output to the un-normalised stream: x + f(norm(x))."
        )


@exercise("count_block_params")
def verify_count_block_params(fn) -> None:
    """``count_block_params(d_model, d_ff)``: parameters of one GPT-2-style block."""
    for d_model, d_ff in [(8, 32), (768, 3072), (1600, 6400), (12288, 49152)]:
        # PyTorch's encoder layer has the same pieces as a GPT-2 block: fused Q/K/V
        # and output projections with biases, a two-layer FFN with biases, and two
        # LayerNorms. Built on the meta device, so even GPT-3's block costs no memory.
        layer = nn.TransformerEncoderLayer(
            d_model, nhead=1, dim_feedforward=d_ff, device="meta"
        )
        want = sum(p.numel() for p in layer.parameters())
        got = fn(d_model, d_ff)
        assert isinstance(got, int), f"expected a Python int, got {type(got).__name__}"
        assert got == want, (
            f"d_model={d_model}, d_ff={d_ff}: got {got:,}, want {want:,} "
            f"(off by {got - want:+,}). Hint: count weights and biases of Q, K, V, the "
            "output projection, both FFN layers, and both LayerNorms' scale and shift."
        )
