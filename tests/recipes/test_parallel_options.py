"""``--parallel``: a 2-process torchrun of the training command line trains like
one process; misuse fails with a clear message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from llmlab.model import GPT
from llmlab.recipes.train_cli import main
from llmlab.train import checkpoint as ckpt

REPO = Path(__file__).resolve().parents[2]
ARGS = [
    "--tokenizer", "byte", "--preset", "tiny", "--max-steps", "3",
    "--batch-size", "4", "--seq-len", "16", "--eval-interval", "3",
    "--eval-batches", "1", "--warmup-steps", "1", "--quiet",
]  # fmt: skip
TIMEOUT_S = 240  # torchrun start-up plus two processes importing torch


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "corpus.py"
    path.write_text((REPO / "llmlab" / "distributed" / "launch.py").read_text() * 3)
    return path


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    index, _ = ckpt.read(directory)
    config = ckpt.module_config(index)
    from llmlab.model import GPTConfig

    model = GPT(GPTConfig(**config))
    ckpt.load_checkpoint(directory, modules={"model": model})
    return model.state_dict()


def test_torchrun_data_parallel_matches_one_process(corpus, tmp_path):
    single = main(["--out", str(tmp_path / "single"), "--files", str(corpus), *ARGS])
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    command = [torchrun, "--standalone", "--nproc-per-node", "2", "-m",
               "llmlab.train", "--out", str(tmp_path / "dp"), "--files", str(corpus),
               *ARGS, "--parallel", "dp=2"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # only rank 0 prints the summary
    parallel = json.loads(lines[0])
    assert parallel["steps"] == single["steps"] == 3
    assert parallel["train_loss"] == pytest.approx(single["train_loss"], abs=1e-5)
    assert parallel["val_loss"] == pytest.approx(single["val_loss"], abs=1e-5)
    ours, theirs = (
        _weights(tmp_path / "dp" / "checkpoint"),
        _weights(tmp_path / "single" / "checkpoint"),
    )
    assert max((ours[k] - theirs[k]).abs().max().item() for k in ours) < 2e-4


def test_parallel_without_torchrun_is_refused(corpus, tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(SystemExit, match="needs torchrun"):
        main(["--out", str(tmp_path / "x"), "--files", str(corpus), *ARGS,
              "--parallel", "dp=2"])  # fmt: skip


def test_bad_layout_names_the_problem(corpus, tmp_path, monkeypatch, capsys):
    for name, value in {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path / "x"), "--files", str(corpus), *ARGS,
              "--parallel", "dp=4"])  # fmt: skip
    assert stop.value.code == 1
    assert "world_size=2" in capsys.readouterr().err
