"""benchmarks/gpu_check.py's plumbing, on the CPU, with tiny sizes (--dry-run)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_dry_run_prints_every_row_and_writes_the_table(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", tmp_path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    files = list(tmp_path.glob("gpu_check-*.md"))
    assert len(files) == 1
    table = files[0].read_text()
    for row in (
        "training, eager",
        "attention reference, T=64",
        "attention flash, T=128",
        "attention sdpa, T=128",
        "generation, KV cache, batch 2",
        "generation, no cache, batch 1",
        "largest training batch at T=64",
    ):
        assert row in table, row
    assert "cuda tests:" in table and "skipped" in table
