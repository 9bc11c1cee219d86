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


@pytest.mark.parametrize(
    "cuda, mps, device, expected",
    [
        (2, False, None, "cuda:1"),  # CUDA present: each rank takes its own GPU
        (2, False, "auto", "cuda:1"),
        (2, False, "cuda", "cuda:1"),
        (2, False, "cpu", "cpu"),  # asked for: gloo on the CPU despite the GPUs
        (0, False, None, "cpu"),
        (0, True, None, "cpu"),  # MPS has no process-group backend
    ],
)
def test_each_rank_runs_on_its_own_gpu_or_the_cpu(
    monkeypatch, cuda, mps, device, expected
):
    from llmlab.recipes.parallel_options import rank_device
    from llmlab.utils import device as device_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(device_module, "_mps_available", lambda: mps)
    assert rank_device(device, local_rank=1) == torch.device(expected)


@pytest.mark.parametrize(
    "device, message",
    [
        ("mps", "MPS has no process-group backend"),
        ("gpu", "unknown device 'gpu'"),
        ("cuda", "CUDA is not available"),
    ],
)
def test_a_device_parallel_runs_cannot_use_is_refused(monkeypatch, device, message):
    from llmlab.recipes.config_args import UsageError
    from llmlab.recipes.parallel_options import rank_device
    from llmlab.utils import device as device_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    with pytest.raises(UsageError, match=f"--device '{device}': .*{message}"):
        rank_device(device, local_rank=0)
