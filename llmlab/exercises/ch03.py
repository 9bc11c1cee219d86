"""Checkers for chapter 03, attention.

Right answers for ``future_dependence`` come from the mask each test layer was built
with, for ``window_reach`` from measuring a stack of ``llmlab`` sliding-window layers,
and for ``set_score_scale`` from the scores recomputed from each layer's own weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise, multiple_choice, question
from llmlab.model import AttentionMask, CausalSelfAttention, GPTConfig


def _layer(mask: AttentionMask, seed: int) -> torch.nn.Module:
    config = GPTConfig(
        vocab_size=8, d_model=16, n_heads=2, n_layers=1, d_ff=32,
        context_length=16, position="none",
    )  # fmt: skip
    torch.manual_seed(seed)
    layer = CausalSelfAttention(config).eval()
    layer.mask = mask
    return layer


@exercise("future_dependence")
def verify_future_dependence(fn) -> None:
    """``future_dependence(layer, T, D)``: (T, T) bool, output i depends on input j."""
    i, j = torch.arange(10)[:, None], torch.arange(10)[None, :]
    cases = {
        "a causal layer (the mask on)": (
            _layer(AttentionMask(), seed=0), j <= i
        ),
        "the same layer with the causal mask removed": (
            _layer(AttentionMask(causal=False), seed=1), torch.ones(10, 10, dtype=bool)
        ),
        "a sliding window of 3": (
            _layer(AttentionMask(window=3), seed=2), (j <= i) & (i - j < 3)
        ),
        "a position-wise layer (no attention at all)": (
            torch.nn.Linear(16, 16), i == j
        ),
    }  # fmt: skip
    for label, (layer, want) in cases.items():
        got = fn(layer, 10, 16)
        assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {got!r}"
        assert got.shape == (10, 10) and got.dtype == torch.bool, (
            f"{label}: got {tuple(got.shape)} {got.dtype}, want a (T, T) bool tensor"
        )
        wrong = (got != want).nonzero()
        if len(wrong):
            a, b = wrong[0].tolist()
            raise AssertionError(
                f"{label}: entry [{a}, {b}] is {bool(got[a, b])}, want "
                f"{bool(want[a, b])}. Change input position {b} only and see whether "
                f"output position {a} moves."
            )


def _window_stack(window: int, n_layers: int) -> torch.nn.Module:
    """n_layers sliding-window attention layers, each inside a residual connection,
    in float64 so that a dependence through several layers is never rounded away."""
    with torch.random.fork_rng():  # the learner's global seed is left as it was
        layers = [
            _layer(AttentionMask(window=window), seed=n).double()
            for n in range(n_layers)
        ]

    def stack(x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = x + layer(x)
        return x

    return stack


@torch.no_grad()
def _measured_dependence(layer, T: int, D: int = 16) -> torch.Tensor:
    """(T, T) bool: output i of ``layer`` moves when only input j is changed."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, T, D, generator=g, dtype=torch.float64)  # (1, T, D)
    base = layer(x)[0]  # (T, D)
    depends = torch.zeros(T, T, dtype=torch.bool)
    for j in range(T):
        changed = x.clone()
        changed[0, j] = torch.randn(D, generator=g, dtype=torch.float64)
        depends[:, j] = (layer(changed)[0] - base).abs().amax(dim=-1) > 1e-10
    return depends


@exercise("window_reach")
def verify_window_reach(fn) -> None:
    """``window_reach(window, n_layers, T)``: (T, T) bool, output i of n_layers
    stacked sliding-window layers depends on input j; measured on such a stack."""
    cases = [(3, 1, 6), (2, 2, 7), (3, 2, 10), (4, 3, 12), (1, 4, 5), (3, 4, 8)]
    for window, n_layers, T in cases:
        label = f"window {window}, {n_layers} layer{'s' * (n_layers > 1)}, T={T}"
        want = _measured_dependence(_window_stack(window, n_layers), T)
        got = fn(window, n_layers, T)
        assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {got!r}"
        assert got.shape == (T, T) and got.dtype == torch.bool, (
            f"{label}: got {tuple(got.shape)} {got.dtype}, want a (T, T) bool tensor"
        )
        wrong = (got != want).nonzero()
        if len(wrong):
            i, j = wrong[0].tolist()
            does = "changes" if want[i, j] else "does not change"
            raise AssertionError(
                f"{label}: entry [{i}, {j}] is {bool(got[i, j])}, want "
                f"{bool(want[i, j])}: in a real stack, output {i} {does} when only "
                f"input {j} changes. One layer lets position {i} read positions "
                f"{max(i - window + 1, 0)}...{i} of the layer below it; each of those "
                "had read further back in the layers under that."
            )


def _scores_by_hand(layer: CausalSelfAttention, x: torch.Tensor, scale: float):
    """Causal softmax(scale · q·k) of one layer on its input x (B, T, D), from the
    layer's own weights but not through its modules (so no hook can touch it)."""
    d = layer.config.d_head
    q = F.linear(x, layer.query.weight, layer.query.bias)  # (B, T, H·Dh)
    k = F.linear(x, layer.key.weight, layer.key.bias)  # (B, T, K·Dh)
    q = q.unflatten(-1, (-1, d)).transpose(1, 2)  # (B, H, T, Dh)
    k = k.unflatten(-1, (-1, d)).transpose(1, 2)  # (B, K, T, Dh)
    k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)  # (B, H, T, Dh)
    T = x.shape[1]
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    scores = (q @ k.transpose(-2, -1) * scale).masked_fill(future, float("-inf"))
    return scores.softmax(dim=-1)  # (B, H, T, T)


@exercise("set_score_scale")
def verify_set_score_scale(fn) -> None:
    """``set_score_scale(model, scale)``: every attention layer of the GPT computes
    softmax(scale · q·k) from then on; the parameters stay as they were."""
    from llmlab.model import GPT, attention_maps

    cases = [
        (GPTConfig(position="none"), 1.0, "scale 1 (no scaling at all)"),
        (GPTConfig(position="none", n_heads=2), 0.5 / math.sqrt(16), "scale 0.5/√Dh"),
        (GPTConfig(position="none", n_kv_heads=2), 3.0, "scale 3, grouped-query"),
    ]
    for seed, (config, scale, label) in enumerate(cases):
        model = GPT(config, generator=torch.Generator().manual_seed(seed)).eval()
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        fn(model, scale)
        for name, p in model.named_parameters():
            assert torch.equal(p, before[name]), (
                f"{label}: `{name}` changed. Leave the parameters as they are (the "
                "experiment trains the same weights from the same start); change "
                "what the layer computes, e.g. with a forward hook."
            )
        inputs: list[torch.Tensor] = []
        layers = [m for m in model.modules() if isinstance(m, CausalSelfAttention)]
        hooks = [
            m.register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
            for m in layers
        ]
        ids = torch.randint(0, 256, (2, 12), generator=torch.Generator().manual_seed(9))
        with torch.no_grad():
            maps = attention_maps(model, ids)
        for hook in hooks:
            hook.remove()
        for n, (layer, x, got) in enumerate(zip(layers, inputs, maps)):
            want = _scores_by_hand(layer, x, scale)
            usual = _scores_by_hand(layer, x, 1 / math.sqrt(config.d_head))
            if torch.allclose(got, usual, atol=1e-5) and scale != 1 / math.sqrt(
                config.d_head
            ):
                raise AssertionError(
                    f"{label}: layer {n} still divides by √Dh, as if nothing "
                    "changed. The layer computes q·k/√Dh; multiplying every query "
                    "by c multiplies every score by c: which c turns 1/√Dh into "
                    "`scale`?"
                )
            assert torch.allclose(got, want, atol=1e-5), (
                f"{label}: layer {n}'s attention weights are not softmax(scale · "
                "q·k) with the causal mask. Scale the queries only (scaling both "
                "q and k multiplies the scores twice), by scale·√Dh."
            )


@question("score_growth")
def verify_score_growth(answer) -> None:
    """Widening heads from d_k = 64 to 256: by what factor does the typical size
    (standard deviation) of unscaled q·k grow? (a) 4 (b) 2 (c) 16 (d) 1."""
    why_not = {
        "a": "4 is how much the *variance* grows (it is d_k); the typical size is "
        "its square root.",
        "c": "16 = 4²: that would be a variance growing like d_k², but each of the "
        "d_k terms adds variance 1, so the variance grows like d_k.",
        "d": "that is what the scaled score does; the question asks about raw q·k.",
    }
    multiple_choice(answer, "b", why_not)
