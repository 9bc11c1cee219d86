"""benchmarks/gpu_check.py's plumbing, on the CPU, with tiny sizes (--dry-run)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import torch

from llmlab.model import GPT
from tests.conftest import REPO

spec = importlib.util.spec_from_file_location(
    "gpu_check", REPO / "benchmarks" / "gpu_check.py"
)
gpu_check = importlib.util.module_from_spec(spec)
sys.modules["gpu_check"] = gpu_check  # its dataclasses look their module up
spec.loader.exec_module(gpu_check)


def _rows(table: str) -> dict[str, dict[str, str]]:
    """The markdown table as {row name: {column: cell}}."""
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    columns = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(columns, cells))
    return rows


def test_dry_run_runs_every_section_and_writes_the_table(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", tmp_path]
        + ["--peak-tflops", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    files = list(tmp_path.glob("gpu_check-*.md"))
    assert len(files) == 1
    table = files[0].read_text()
    assert f"torch {torch.__version__}" in table and "CUDA " in table
    assert "bf16 dense peak: 2 TFLOP/s" in table
    assert "cuda tests:" in table and "skipped" in table
    rows = _rows(table)
    sizes = gpu_check.DRY
    expected = ["training, eager", "training, torch.compile"]
    for T in sizes.attention_lengths:
        expected += [f"attention {a}, T={T}" for a in ("reference", "flash", "sdpa")]
    for B in sizes.generation_batches:
        expected += [
            f"generation, {c}, batch {B}" for c in ("no cache", "KV cache", "tuned")
        ]
    expected.append(f"largest training batch at T={sizes.model.context_length}")
    assert list(rows) == expected
    # MFU = tokens/s · training FLOPs per token / the peak given on the command line.
    n = sum(p.numel() for p in GPT(sizes.model).parameters())
    per_token = gpu_check.flops_per_token(sizes.model, n)
    for name in expected[:2]:
        tokens_per_s, mfu = float(rows[name]["tokens/s"]), float(rows[name]["MFU"])
        assert mfu == pytest.approx(tokens_per_s * per_token / 2e12, rel=0.01)
    for name in expected[2:-1]:
        value = rows[name]["ms" if name.startswith("attention") else "tokens/s"]
        assert float(value) > 0, name
    for name in expected[2:8]:
        assert rows[name]["peak GiB"] == "n/a"  # no memory statistics on the CPU
    assert rows[expected[-1]]["batch"] == str(sizes.max_batch)  # the CPU fits it
