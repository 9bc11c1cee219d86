"""Training throughput: llmlab's GPT vs nanoGPT's shape vs HF ``GPT2LMHeadModel``.

Peers, measured in the same run on the same machine: llmlab's ``GPT``, a model with
the shape of karpathy/nanoGPT's ``model.py`` (written here from its published
architecture: one fused ``c_attn`` Linear for q/k/v, SDPA with ``is_causal``,
GELU MLP, pre-LayerNorm, tied embeddings) and HuggingFace ``transformers``'
``GPT2LMHeadModel``, all built from the same shape (GPT-2 recipe: learned
positions, pre-LayerNorm, tanh-GELU (nanoGPT itself uses exact GELU; tanh here so
all three compute the same function), tied embeddings, SDPA attention, no
dropout), trained with the same step (``llmlab.train.train_step``: cross-entropy,
backward, clipping, ``torch.optim.AdamW`` as ``build_optimizer`` makes it) on the
same batch. Only the model differs. A fourth row trains llmlab's GPT with the
teaching ``llmlab.train.AdamW`` instead, for the optimizer's share of a step.

Reported per model width: training tokens/s (median of repeats), the ratio to
nanoGPT and to HF,
and model-FLOPs utilisation (MFU): the FLOPs a training step must do (6 per
matmul weight per token, plus attention's 12 * L * D * T per token; PaLM,
arXiv:2204.02311, appendix B) divided by the time, as a fraction of a float32
matmul peak measured in the same run (the best of square matmuls of a few sizes).
Models and the matmul probe are interleaved within each repeat, so noise from
other processes hits all of them alike.

Usage: python benchmarks/bench_training.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from llmlab.model import GPT, GPTConfig
from llmlab.train import TrainConfig, build_optimizer, next_token_loss, train_step

VOCAB, LAYERS, SEQ_LEN, BATCH = 8192, 4, 256, 8


def our_model(d_model: int) -> GPT:
    config = GPTConfig(
        vocab_size=VOCAB,
        context_length=SEQ_LEN,
        d_model=d_model,
        n_heads=d_model // 64,
        n_layers=LAYERS,
        d_ff=4 * d_model,
        ffn="gelu_tanh",
        attention="sdpa",
        position="learned",
        tie_embeddings=True,
    )
    return GPT(config)


class NanoAttention(nn.Module):
    """nanoGPT's CausalSelfAttention shape: one Linear makes q, k and v."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.c_attn(x).split(D, dim=2)  # 3 x (B, T, D)
        q, k, v = (
            t.view(B, T, self.n_heads, D // self.n_heads).transpose(1, 2)
            for t in (q, k, v)
        )  # (B, H, T, Dh)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, D))


class NanoBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = NanoAttention(d_model, n_heads)
        self.ln_2 = nn.LayerNorm(d_model)
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.c_proj = nn.Linear(4 * d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
        return x + self.c_proj(h)


class NanoGPTShape(nn.Module):
    """The nanoGPT ``GPT`` layout: wte + wpe, blocks, ln_f, lm_head tied to wte."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(VOCAB, d_model)
        self.wpe = nn.Embedding(SEQ_LEN, d_model)
        self.h = nn.ModuleList(NanoBlock(d_model, d_model // 64) for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # (B, T, V)


class HFLogits(torch.nn.Module):
    """GPT2LMHeadModel returning plain logits (B, T, V), like llmlab's GPT."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(
            vocab_size=VOCAB,
            n_positions=SEQ_LEN,
            n_embd=d_model,
            n_layer=LAYERS,
            n_head=d_model // 64,
            n_inner=4 * d_model,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            activation_function="gelu_new",
            use_cache=False,
            bos_token_id=0,
            eos_token_id=0,
        )
        config._attn_implementation = "sdpa"
        self.inner = GPT2LMHeadModel(config)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.inner(input_ids=ids).logits


def matmul_params(model: torch.nn.Module) -> int:
    """Weights that take part in a matmul: every 2-D weight except position tables,
    with a tied head counted once (its matmul happens once per token)."""
    seen, total = set(), 0
    for name, p in model.named_parameters():
        if p.ndim == 2 and "position" not in name and "wpe" not in name:
            if p.data_ptr() not in seen:
                seen.add(p.data_ptr())
                total += p.numel()
    return total


def step_flops(model: torch.nn.Module, d_model: int) -> float:
    tokens = BATCH * SEQ_LEN
    return tokens * (6 * matmul_params(model) + 12 * LAYERS * d_model * SEQ_LEN)


def time_steps(model, opt, batch, steps: int) -> float:
    """Seconds per training step (mean over ``steps``, after one warm-up step)."""
    train_step(model, [batch], next_token_loss, opt, grad_clip=1.0)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, [batch], next_token_loss, opt, grad_clip=1.0)
    return (time.perf_counter() - start) / steps


def time_optimizer(opt, steps: int) -> float:
    """Seconds per ``optimizer.step()`` alone (gradients already in place)."""
    opt.step()
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - start) / steps


def matmul_peak(sizes=(1024, 2048), repeats: int = 3) -> float:
    """Best float32 matmul FLOP/s over a few square sizes."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


TEACHING = "llmlab + teaching AdamW"


def bench(d_model: int, repeats: int, steps: int) -> dict:
    torch.manual_seed(0)
    models = {
        "llmlab GPT": our_model(d_model),
        "nanoGPT shape": NanoGPTShape(d_model),
        "HF GPT2LMHeadModel": HFLogits(d_model),
        TEACHING: our_model(d_model),
    }
    config = TrainConfig(lr=1e-4, min_lr=0.0)
    opts = {
        name: build_optimizer(m, config, teaching=name == TEACHING)
        for name, m in models.items()
    }
    g = torch.Generator().manual_seed(0)
    x = torch.randint(VOCAB, (BATCH, SEQ_LEN + 1), generator=g)
    batch = (x[:, :-1], x[:, 1:])
    seconds = {name: [] for name in models}
    opt_seconds = {name: [] for name in ("llmlab GPT", TEACHING)}
    peaks = []
    for _ in range(repeats):
        for name, model in models.items():  # interleaved: noise hits all alike
            seconds[name].append(time_steps(model, opts[name], batch, steps))
        for name in opt_seconds:
            opt_seconds[name].append(time_optimizer(opts[name], steps))
        peaks.append(matmul_peak())
    peak = statistics.median(peaks)
    rows = {}
    for name, model in models.items():
        s = statistics.median(seconds[name])
        rows[name] = {
            "tokens_s": BATCH * SEQ_LEN / s,
            "mfu": step_flops(model, d_model) / s / peak,
            "params": sum(p.numel() for p in model.parameters()),
            "step_ms": 1e3 * s,
        }
    optimizer_ms = {n: 1e3 * statistics.median(v) for n, v in opt_seconds.items()}
    return {"d_model": d_model, "peak": peak, "rows": rows, "opt_ms": optimizer_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, few steps")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--widths", type=int, nargs="+", default=[512, 256])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats, steps = (1, 2) if args.quick else (3, 4)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"batch {BATCH} x {SEQ_LEN} tokens, {LAYERS} layers, vocab {VOCAB}; "
        f"median of {repeats} repeats x {steps} steps, interleaved\n"
    )
    header = (
        f"{'d_model':>7}  {'model':<24} {'params':>8} {'tokens/s':>9} "
        f"{'vs nano':>7} {'vs HF':>6} {'MFU':>6}  matmul peak"
    )
    print(header)
    print("-" * len(header))
    for width in args.widths:
        result = bench(width, repeats, steps)
        nano = result["rows"]["nanoGPT shape"]["tokens_s"]
        hf = result["rows"]["HF GPT2LMHeadModel"]["tokens_s"]
        for name, row in result["rows"].items():
            print(
                f"{width:>7}  {name:<24} {row['params'] / 1e6:>7.2f}M "
                f"{row['tokens_s']:>9.0f} {row['tokens_s'] / nano:>6.2f}x "
                f"{row['tokens_s'] / hf:>5.2f}x "
                f"{row['mfu']:>6.1%}  {result['peak'] / 1e9:.1f} GFLOP/s"
            )
        rows, opt = result["rows"], result["opt_ms"]
        print(
            f"{width:>7}  teaching/torch AdamW: optimizer.step "
            f"{opt[TEACHING]:.1f} / {opt['llmlab GPT']:.1f} ms = "
            f"{opt[TEACHING] / opt['llmlab GPT']:.2f}x; whole training step "
            f"{rows[TEACHING]['step_ms']:.0f} / {rows['llmlab GPT']['step_ms']:.0f} ms"
            f" = {rows[TEACHING]['step_ms'] / rows['llmlab GPT']['step_ms']:.2f}x"
        )


if __name__ == "__main__":
    main()
