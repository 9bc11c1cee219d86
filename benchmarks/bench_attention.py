"""Attention forward+backward: time and peak memory of each implementation vs T.

Peers, measured in the same run: llmlab's reference attention (explicit (T, T)
score table), PyTorch's ``scaled_dot_product_attention`` (SDPA, the default fast
path) and llmlab's tiled online-softmax ("flash") attention, all causal, float32,
one batch of H heads of width Dh.

Time: median of repeated forward+backward passes, implementations interleaved within
each repeat so machine noise hits all of them alike.

Memory, two ways, both printed:
- analytic: bytes of the largest intermediate each path creates: the (B, H, T, T)
  score table for the reference path, one (B, H, tile, tile) tile for flash;
- measured: peak resident-set growth (Linux VmHWM - VmRSS) of a fresh process
  during one forward+backward, after warm-up. glibc is told to serve every large
  buffer with mmap (MALLOC_MMAP_THRESHOLD_), so freed memory leaves the process and
  the peak is not hidden by allocator caching. ``tracemalloc`` would see nothing:
  torch allocates outside Python's allocator.

Usage: python benchmarks/bench_attention.py [--quick] [--threads N]
Writes benchmarks/attention_memory.png. On a machine whose cores are shared with other
jobs, ``--threads 1`` gives far steadier numbers: with more threads than free cores,
every small operation waits for a descheduled thread at its barrier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from llmlab.model import attend

IMPLEMENTATIONS = ("reference", "sdpa", "flash")
BATCH, HEADS, D_HEAD, TILE = 1, 4, 64, 256
HERE = Path(__file__).resolve().parent


def make_inputs(T: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (BATCH, HEADS, T, D_HEAD)
    return [torch.randn(shape, generator=g).requires_grad_() for _ in range(3)]


def forward_backward(implementation: str, q, k, v) -> None:
    y = attend(q, k, v, implementation=implementation, block_size=TILE)
    y.sum().backward()
    for t in (q, k, v):
        t.grad = None


def time_all(T: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per forward+backward, each repeat interleaving the implementations."""
    q, k, v = make_inputs(T)
    if T <= 1024:  # warm-up; long runs are dominated by arithmetic, not first calls
        for name in IMPLEMENTATIONS:
            forward_backward(name, q, k, v)
    samples: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    for _ in range(repeats):
        for name in IMPLEMENTATIONS:
            start = time.perf_counter()
            forward_backward(name, q, k, v)
            samples[name].append(time.perf_counter() - start)
    return samples


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_growth_here(implementation: str, T: int) -> int:
    """Peak RSS growth in bytes during one forward+backward (run in a fresh process)."""
    forward_backward(implementation, *make_inputs(256, seed=1))  # load kernels
    q, k, v = make_inputs(T)
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    baseline = _status_kib("VmRSS")
    forward_backward(implementation, q, k, v)
    return (_status_kib("VmHWM") - baseline) * 1024


def measure_memory(implementation: str, T: int) -> int:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    threads = ["--threads", str(torch.get_num_threads())]
    out = subprocess.run(
        [sys.executable, __file__, "--child", implementation, str(T), *threads],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_bytes"]


def analytic_bytes(implementation: str, T: int) -> int:
    """Largest intermediate: the full score table, or one tile (float32)."""
    if implementation == "flash":
        side = min(TILE, T)
        return BATCH * HEADS * side * side * 4
    if implementation == "sdpa":
        return 0  # depends on the kernel PyTorch picks; see the measured column
    return BATCH * HEADS * T * T * 4


def run(lengths: list[int]) -> list[dict]:
    rows = []
    for T in lengths:
        repeats = 5 if T <= 1024 else 3
        samples = time_all(T, repeats)
        times = {name: statistics.median(s) for name, s in samples.items()}
        memory = {name: measure_memory(name, T) for name in IMPLEMENTATIONS}
        for name in IMPLEMENTATIONS:
            rows.append(
                dict(
                    T=T,
                    impl=name,
                    seconds=times[name],
                    fastest=min(samples[name]),
                    repeats=repeats,
                    peak=memory[name],
                    analytic=analytic_bytes(name, T),
                    time_ratio=times[name] / times["sdpa"],
                    memory_ratio=memory[name] / max(memory["sdpa"], 1),
                )
            )
        print(f"  measured T={T}: {times}", file=sys.stderr, flush=True)
    return rows


def print_table(rows: list[dict]) -> None:
    mib = 2**20
    print(
        f"attention fwd+bwd, causal, float32, B={BATCH} H={HEADS} Dh={D_HEAD}, "
        f"flash tile={TILE}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}"
    )
    print(
        "| T | implementation | fwd+bwd ms median (min, n) | time / SDPA | "
        "peak RSS growth MiB | memory / SDPA | largest intermediate MiB |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        analytic = f"{r['analytic'] / mib:.1f}" if r["analytic"] else "kernel"
        print(
            f"| {r['T']} | {r['impl']} | {1000 * r['seconds']:.1f} "
            f"({1000 * r['fastest']:.1f}, {r['repeats']}) "
            f"| {r['time_ratio']:.2f}x | {r['peak'] / mib:.1f} "
            f"| {r['memory_ratio']:.2f}x | {analytic} |"
        )


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem_ax, time_ax) = plt.subplots(1, 2, figsize=(11, 4))
    lengths = sorted({r["T"] for r in rows})
    for name in IMPLEMENTATIONS:
        mine = [r for r in rows if r["impl"] == name]
        mem_ax.plot(lengths, [r["peak"] / 2**20 for r in mine], "o-", label=name)
        time_ax.plot(lengths, [1000 * r["seconds"] for r in mine], "o-", label=name)
    table = [BATCH * HEADS * T * T * 4 / 2**20 for T in lengths]
    mem_ax.plot(lengths, table, "k--", label="one (B,H,T,T) float32 table: O(T²)")
    linear = [BATCH * HEADS * T * D_HEAD * 4 * 8 / 2**20 for T in lengths]
    mem_ax.plot(lengths, linear, "k:", label="8 (B,H,T,Dh) tensors: O(T)")
    for ax, label in ((mem_ax, "peak RSS growth (MiB)"), (time_ax, "fwd+bwd (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    mem_ax.set_title("Memory: the score table grows as T²")
    time_ax.set_title("Time (CPU)")
    mem_ax.legend(fontsize=7)
    time_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 256, 512 only")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument(
        "--child", nargs=2, metavar=("IMPL", "T"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        name, T = args.child[0], int(args.child[1])
        print(json.dumps({"peak_bytes": peak_growth_here(name, T)}))
        return
    lengths = [256, 512] if args.quick else [256, 512, 1024, 2048, 4096]
    start = time.perf_counter()
    rows = run(lengths)
    print_table(rows)
    plot(rows, HERE / "attention_memory.png")
    seconds = time.perf_counter() - start
    print(f"plot: benchmarks/attention_memory.png; total {seconds:.0f} s")


if __name__ == "__main__":
    main()
