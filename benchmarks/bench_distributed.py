"""Distributed training on 2 CPU processes (gloo): time, traffic and memory per
strategy, against one process; then memory per rank for published model sizes.

Peers, measured in the same run, interleaved round by round: one process on the
whole batch, written-out and PyTorch DDP, FSDP2, written-out and DTensor tensor
parallelism, written-out GPipe/1F1B and ``torch.distributed.pipelining``. All train
the ``small`` preset (vocabulary 256) on the same batches.

Columns:
- step time: median over rounds of the mean time per optimizer step;
- bytes sent per rank per step: counted by instrumenting every collective
  (``CommCounter``), next to the formula (DDP: ring all-reduce 2·(N-1)/N · params ·
  4 bytes; FSDP: all-gathers and a reduce-scatter; TP: 4 activation all-reduces per
  layer; pipeline: one activation or gradient per micro-batch plus the tied
  matrix's gradient);
- model state per rank (weights, gradients, AdamW moments) measured from the
  tensors each rank holds, next to ``llmlab.distributed.memory``'s formula;
- peak RSS growth per rank during training (Linux; includes activations and
  communication buffers; glibc is told to return freed buffers to the system).

Two processes share this machine's cores, and the network is a loopback socket:
the step times show overheads, not the speed-ups of real multi-GPU runs.

Usage: python benchmarks/bench_distributed.py [--rounds 3] [--steps 3]
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import statistics
import time
from pathlib import Path

import torch
import torch.distributed as dist

from llmlab.distributed import run_on_ranks
from llmlab.distributed.memory import state_bytes_per_rank
from llmlab.distributed.parity import (
    STRATEGIES,
    ParityRun,
    make_model,
    reference_run,
    train_strategy,
)
from llmlab.model import PRESETS

LAYOUT_OF = {
    "ddp_manual": "ddp",
    "ddp": "ddp",
    "fsdp": "fsdp",
    "tp_manual": "tp",
    "tp": "tp",
    "gpipe": "pp",
    "1f1b": "pp",
    "torch_gpipe": "pp",
    "torch_1f1b": "pp",
}
N = 2


def bench_run(steps: int) -> ParityRun:
    config = dataclasses.replace(PRESETS["small"], vocab_size=256)
    return ParityRun(
        config=config, steps=steps, batch_size=8, seq_len=64, micro_batches=4, frozen=()
    )


def worker(rank: int, world_size: int, run: ParityRun, rounds: int) -> dict:
    _return_freed_memory()
    out: dict = {name: {"seconds": []} for name in ("single", *STRATEGIES)}
    for _ in range(rounds):
        if rank == 0:  # the single-process peer, while rank 1 waits
            began = time.perf_counter()
            reference_run(run)
            out["single"]["seconds"].append((time.perf_counter() - began) / run.steps)
        dist.barrier()
        for name in STRATEGIES:
            result = train_strategy(rank, world_size, name, run)
            out[name]["seconds"].append(result["seconds"])
    if rank == 0:  # the single process's peak, measured the same way
        baseline = _rss()
        _reset_peak_rss()
        reference_run(run)
        out["single"]["peak_rss"] = _peak_rss() - baseline
    dist.barrier()
    for name in STRATEGIES:
        baseline = _rss()
        _reset_peak_rss()
        result = train_strategy(rank, world_size, name, run, count_bytes=True)
        out[name]["peak_rss"] = _peak_rss() - baseline
        out[name]["wire_bytes"] = result["wire_bytes"]
        out[name]["state_bytes"] = result["state_bytes"]
    return out


def formula_bytes(name: str, run: ParityRun) -> float:
    model = make_model(run)
    P = sum(p.numel() for p in model.parameters()) * 4
    blocks = sum(p.numel() for p in model.blocks.parameters()) * 4
    B, T, D, L = run.batch_size, run.seq_len, run.config.d_model, run.config.n_layers
    loss = 4 * 2 * (N - 1) / N  # the parity runner's loss average (all-reduce)
    if name in ("ddp_manual", "ddp"):
        return 2 * (N - 1) / N * P + loss
    if name == "fsdp":
        return (N - 1) / N * (P + blocks + P) + loss
    if name == "tp_manual":
        return 4 * L * B * T * D * 4
    if name == "tp":  # DTensor all-reduces q, k, v's input gradients separately
        return (4 + 2) * L * B * T * D * 4
    tied = run.config.vocab_size * D * 4 if run.config.tie_embeddings else 0
    return B * T * D * 4 + tied + 4 * (N - 1) / N


def print_measured(results: list[dict], run: ParityRun) -> None:
    model = make_model(run)
    single_state = 16 * sum(p.numel() for p in model.parameters())
    print(f"\n2 processes, gloo, preset 'small' (vocab 256), batch {run.batch_size}")
    print(f"x {run.seq_len} tokens, {run.micro_batches} pipeline micro-batches\n")
    header = "| strategy | step ms | vs single | bytes/rank/step | formula | "
    header += "state/rank MB | formula MB | peak RSS MB (r0, r1) |"
    print(header)
    print("|" + "---|" * 8)
    single = statistics.median(results[0]["single"]["seconds"])
    rss = results[0]["single"]["peak_rss"] / 2**20
    mb = single_state / 2**20
    print(f"| single process | {single * 1e3:.1f} | 1.00 | 0 | 0 | {mb:.2f} | "
          f"{mb:.2f} | {rss:.0f} |")  # fmt: skip
    for name in STRATEGIES:
        r0, r1 = results[0][name], results[1][name]
        step = statistics.median(r0["seconds"])
        state = max(r0["state_bytes"], r1["state_bytes"])
        expect = state_bytes_per_rank(run.config, LAYOUT_OF[name], N)
        print(
            f"| {name} | {step * 1e3:.1f} | {step / single:.2f} | "
            f"{max(r0['wire_bytes'], r1['wire_bytes']):,.0f} | "
            f"{formula_bytes(name, run):,.0f} | {state / 2**20:.2f} | "
            f"{expect / 2**20:.2f} | {r0['peak_rss'] / 2**20:.0f}, "
            f"{r1['peak_rss'] / 2**20:.0f} |"
        )


def print_formulas(n: int = 4) -> None:
    print(f"\nModel state per rank (GB, AdamW float32, 16 B/param), N = {n} ranks\n")
    print("| model | single / DDP | FSDP | TP | PP |")
    print("|---|---|---|---|---|")
    for preset in ("gpt2-124m", "gpt3-175b", "llama2-70b"):
        config = PRESETS[preset]
        cells = [
            state_bytes_per_rank(config, layout, n) / 1e9
            for layout in ("ddp", "fsdp", "tp", "pp")
        ]
        print(f"| {preset} | " + " | ".join(f"{c:,.1f}" for c in cells) + " |")


def _return_freed_memory() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD: big buffers via mmap


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _rss() -> int:
    return _status("VmRSS:")


def _peak_rss() -> int:
    return _status("VmHWM:")


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = bench_run(args.steps)
    results = run_on_ranks(worker, N, args=(run, args.rounds), timeout_s=1200)
    print_measured(results, run)
    print_formulas()


if __name__ == "__main__":
    main()
