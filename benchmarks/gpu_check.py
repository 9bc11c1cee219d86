"""One prepared GPU check: the `cuda` tests, then one table of throughput figures.

Run on a machine with an NVIDIA GPU (under 5 minutes on an H100/H200-class GPU):

    python benchmarks/gpu_check.py            # writes benchmarks/results/gpu_check-*.md
    python benchmarks/gpu_check.py --dry-run  # CPU, tiny sizes: checks the plumbing

Rows of the table:
- training tokens/s and MFU of a GPT-2-small-shaped model (12 layers, d_model 768,
  T = 1024) through llmlab's own step (``train_step``, ``build_optimizer``'s fused
  AdamW, ``next_token_loss``), bf16 autocast with fp32 master weights, eager and
  ``torch.compile``d. MFU = achieved model FLOPs / the GPU's dense bf16 peak, with
  6 FLOPs per weight per token plus attention's 12 · L · D · T (PaLM,
  arXiv:2204.02311, appendix B); ``--peak-tflops`` gives the peak of a GPU that
  ``PEAK_BF16`` does not list;
- attention forward + backward time and peak memory at 4k–32k tokens for the
  reference, tiled ("flash") and SDPA paths (OOM is reported, not fatal);
- generation tokens/s with and without the KV cache at batch 1 and 32, and with the
  cache after ``tune_kernels`` (the "tuned" row);
- the largest training batch (powers of two) that fits at T = 1024.
Every timing synchronises the device before reading the clock. Figures are medians
of 3 repeats. Results go to ``benchmarks/results/gpu_check-<device>.md`` with the
device name and the torch and CUDA versions.

``--dry-run`` runs every section at tiny sizes on the CPU (the compiled row with
dynamo's "eager" backend, which captures the graph but generates no code), so CI
checks the plumbing; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from llmlab.generate import reset_kernels, tune_kernels
from llmlab.model import GPT, PRESETS, GPTConfig, KVCache, attend
from llmlab.train import TrainConfig, build_optimizer, next_token_loss, train_step
from llmlab.utils.atomic import atomic_replace
from llmlab.utils.device import pick_device

REPO = Path(__file__).resolve().parents[1]
# Dense bf16 peaks in TFLOP/s from the vendors' data sheets (no sparsity).
PEAK_BF16 = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "L4": 121e12,
    "A10": 125e12,
    "RTX 4090": 165e12,
}


@dataclasses.dataclass(frozen=True)
class Sizes:
    model: GPTConfig
    batch: int
    attention_lengths: tuple[int, ...]
    generation_batches: tuple[int, ...]
    new_tokens: int
    max_batch: int
    repeats: int = 3


FULL = Sizes(
    # GPT-2 small's shape, vocabulary padded to a multiple of 64 for the matmuls.
    model=dataclasses.replace(PRESETS["gpt2-124m"], vocab_size=50_304),
    batch=16,
    attention_lengths=(4096, 8192, 16384, 32768),
    generation_batches=(1, 32),
    new_tokens=128,
    max_batch=256,
)
DRY = Sizes(
    model=GPTConfig(
        vocab_size=256,
        context_length=64,
        d_model=32,
        n_heads=4,
        n_layers=2,
        d_ff=64,
        attention="sdpa",
    ),
    batch=2,
    attention_lengths=(64, 128),
    generation_batches=(1, 2),
    new_tokens=4,
    max_batch=4,
    repeats=1,
)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn()`` after one warm-up call, device-synchronised."""
    fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_flops(device: torch.device) -> float | None:
    """The dense bf16 peak of a GPU ``PEAK_BF16`` lists (FLOP/s), else None."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def flops_per_token(cfg: GPTConfig, n_params: int) -> float:
    """Training FLOPs per token: 6 per weight (forward 2, backward 4) plus the
    attention scores and mixing, 12 · L · D · T (PaLM, appendix B)."""
    return 6 * n_params + 12 * cfg.n_layers * cfg.d_model * cfg.context_length


def training_row(sizes: Sizes, device, *, compiled: bool, peak, backend=None) -> dict:
    """One optimizer step of llmlab's training path, timed; ``backend`` is
    torch.compile's (None: inductor)."""
    cfg = sizes.model
    model = GPT(cfg).to(device)
    optimizer = build_optimizer(model, TrainConfig())  # fused AdamW where it can
    forward = model
    if compiled:
        forward = torch.compile(model, **({"backend": backend} if backend else {}))
    ids = torch.randint(0, cfg.vocab_size, (sizes.batch, cfg.context_length + 1))
    ids = ids.pin_memory() if device.type == "cuda" else ids
    ids = ids.to(device, non_blocking=True)  # pinned: the copy need not block
    batch = (ids[:, :-1], ids[:, 1:])
    dtype = torch.bfloat16 if device.type == "cuda" else None

    def step() -> None:
        train_step(
            forward,
            [batch],
            next_token_loss,
            optimizer,
            grad_clip=1.0,
            autocast_dtype=dtype,
        )

    seconds = timed(step, device, sizes.repeats)
    tokens = sizes.batch * cfg.context_length
    n = sum(p.numel() for p in model.parameters())
    name = "training, " + ("torch.compile" if compiled else "eager")
    return {
        "row": name,
        "tokens/s": tokens / seconds,
        "MFU": None
        if peak is None
        else tokens * flops_per_token(cfg, n) / seconds / peak,
    }


def attention_rows(sizes: Sizes, device) -> list[dict]:
    rows = []
    for T in sizes.attention_lengths:
        for implementation in ("reference", "flash", "sdpa"):
            rows.append(attention_row(T, implementation, sizes, device))
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def attention_row(T: int, implementation: str, sizes: Sizes, device) -> dict:
    """Forward + backward of one head group: GPT-2-small heads on CUDA, tiny on CPU."""
    cuda = device.type == "cuda"
    H, Dh = (12, 64) if cuda else (2, 16)
    dtype = torch.bfloat16 if cuda else torch.float32
    q, k, v = (
        torch.randn(1, H, T, Dh, device=device, dtype=dtype, requires_grad=True)
        for _ in range(3)
    )

    def run() -> None:
        out = attend(q, k, v, implementation=implementation, block_size=1024)
        out.sum().backward()

    row = {"row": f"attention {implementation}, T={T}", "peak GiB": None}
    try:
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        row["ms"] = 1000 * timed(run, device, sizes.repeats)
        if cuda:  # the CPU keeps no peak-memory statistics: n/a in a dry run
            row["peak GiB"] = torch.cuda.max_memory_allocated(device) / 2**30
    except torch.OutOfMemoryError:
        row["ms"] = "OOM"
    return row


@torch.no_grad()
def generation_rows(sizes: Sizes, device) -> list[dict]:
    cfg = sizes.model
    model = GPT(cfg).to(device).eval()
    rows = []
    for batch in sizes.generation_batches:
        prompt = torch.randint(0, cfg.vocab_size, (batch, 32), device=device)

        def plain() -> None:
            ids = prompt
            for _ in range(sizes.new_tokens):
                nxt = model(ids)[:, -1].argmax(-1, keepdim=True)
                ids = torch.cat([ids, nxt], dim=1)

        def cached() -> None:
            cache = KVCache(
                cfg, batch_size=batch, max_len=32 + sizes.new_tokens, device=device
            )
            logits = model(prompt, cache=cache)[:, -1]
            for _ in range(sizes.new_tokens):
                nxt = logits.argmax(-1, keepdim=True)
                logits = model(nxt, cache=cache)[:, -1]

        for name, fn in (("no cache", plain), ("KV cache", cached), ("tuned", cached)):
            if name == "tuned":  # the KV cache again, with tune_kernels' choice
                tune_kernels(model, batch_size=batch)
            seconds = timed(fn, device, sizes.repeats)
            rows.append(
                {
                    "row": f"generation, {name}, batch {batch}",
                    "tokens/s": batch * sizes.new_tokens / seconds,
                }
            )
        reset_kernels(model)
    return rows


def largest_batch(sizes: Sizes, device) -> dict:
    cfg, batch, fits = sizes.model, 1, 0
    while batch <= sizes.max_batch:
        try:
            model = GPT(cfg).to(device)
            ids = torch.randint(
                0, cfg.vocab_size, (batch, cfg.context_length), device=device
            )
            with torch.autocast(
                device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
            ):
                loss = F.cross_entropy(model(ids).flatten(0, 1).float(), ids.flatten())
            loss.backward()
            fits, batch = batch, batch * 2
        except torch.OutOfMemoryError:
            break
        finally:
            model = ids = loss = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return {"row": f"largest training batch at T={cfg.context_length}", "batch": fits}


def cuda_tests() -> str:
    """Every test marked ``cuda`` (tests/test_cuda.py, the bf16 model checks, the
    NCCL parity runs on 2 GPUs); the pytest summary line."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "cuda",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(REPO / "tests"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode not in (0, 5):  # 5: every test deselected
        print(result.stdout[-4000:], result.stderr[-2000:])
        raise SystemExit(f"cuda tests failed: {last}")
    return last


def render(rows: list[dict], header: str) -> str:
    columns = ["row"] + sorted({k for r in rows for k in r} - {"row"})
    lines = [header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            cells.append(
                f"{v:.3g}" if isinstance(v, float) else ("n/a" if v is None else str(v))
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="tiny sizes on the CPU: check the plumbing only",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="the GPU's dense bf16 peak, for MFU (default: looked up by name)",
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        device, sizes = torch.device("cpu"), DRY
    else:
        try:
            device, sizes = pick_device("cuda"), FULL
        except RuntimeError as error:
            raise SystemExit(f"{error}: run with --dry-run to check the plumbing")
        torch.backends.cuda.matmul.allow_tf32 = True  # entry point: global is fine
        torch.backends.cudnn.allow_tf32 = True
    peak = peak_flops(device) if args.peak_tflops is None else args.peak_tflops * 1e12
    tests = cuda_tests()
    rows = [training_row(sizes, device, compiled=False, peak=peak)]
    if not args.skip_compile:
        backend = "eager" if args.dry_run else None  # dry run: capture, no codegen
        rows.append(
            training_row(sizes, device, compiled=True, peak=peak, backend=backend)
        )
    rows += attention_rows(sizes, device) + generation_rows(sizes, device)
    rows.append(largest_batch(sizes, device))
    name = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (dry run)"
    )
    peak_text = "unknown (MFU n/a)" if peak is None else f"{peak / 1e12:g} TFLOP/s"
    header = (
        f"# gpu_check: {name}, torch {torch.__version__}, "
        f"CUDA {torch.version.cuda or 'none'}, {datetime.date.today()}\n\n"
        f"bf16 dense peak: {peak_text}\n\ncuda tests: {tests}"
    )
    table = render(rows, header)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()
    path = args.out / f"gpu_check-{slug}.md"
    with atomic_replace(path) as tmp:
        tmp.write_text(table, encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
