"""Training throughput: llmlab's GPT vs HuggingFace ``GPT2LMHeadModel``.

Peers, measured in the same run on the same machine: llmlab's ``GPT`` and
HuggingFace ``transformers``' ``GPT2LMHeadModel`` built from the same shape
(GPT-2 recipe: learned positions, pre-LayerNorm, tanh-GELU, tied embeddings, SDPA
attention, no dropout), trained with the same step (``llmlab.train.train_step``:
cross-entropy, backward, clipping, AdamW) on the same batch. Only the model differs.

Reported per model width: training tokens/s (median of repeats), the ratio to HF,
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


def bench(d_model: int, repeats: int, steps: int) -> dict:
    torch.manual_seed(0)
    models = {"llmlab GPT": our_model(d_model), "HF GPT2LMHeadModel": HFLogits(d_model)}
    config = TrainConfig(lr=1e-4, min_lr=0.0)
    opts = {name: build_optimizer(m, config) for name, m in models.items()}
    g = torch.Generator().manual_seed(0)
    x = torch.randint(VOCAB, (BATCH, SEQ_LEN + 1), generator=g)
    batch = (x[:, :-1], x[:, 1:])
    seconds = {name: [] for name in models}
    peaks = []
    for _ in range(repeats):
        for name, model in models.items():
            seconds[name].append(time_steps(model, opts[name], batch, steps))
        peaks.append(matmul_peak())
    peak = statistics.median(peaks)
    rows = {}
    for name, model in models.items():
        s = statistics.median(seconds[name])
        rows[name] = {
            "tokens_s": BATCH * SEQ_LEN / s,
            "mfu": step_flops(model, d_model) / s / peak,
            "params": sum(p.numel() for p in model.parameters()),
        }
    return {"d_model": d_model, "peak": peak, "rows": rows}


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
        f"{'d_model':>7}  {'model':<20} {'params':>8} {'tokens/s':>9} "
        f"{'vs HF':>6} {'MFU':>6}  matmul peak"
    )
    print(header)
    print("-" * len(header))
    for width in args.widths:
        result = bench(width, repeats, steps)
        hf = result["rows"]["HF GPT2LMHeadModel"]["tokens_s"]
        for name, row in result["rows"].items():
            print(
                f"{width:>7}  {name:<20} {row['params'] / 1e6:>7.2f}M "
                f"{row['tokens_s']:>9.0f} {row['tokens_s'] / hf:>5.2f}x "
                f"{row['mfu']:>6.1%}  {result['peak'] / 1e9:.1f} GFLOP/s"
            )


if __name__ == "__main__":
    main()
