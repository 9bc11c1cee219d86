from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmlab.recipes.train_cli import build_parser, configs_from_args, main
from llmlab.train import checkpoint as ckpt
from tests.train.conftest import CODE

TINY = [
    "--preset",
    "tiny",
    "--max-steps",
    "4",
    "--batch-size",
    "2",
    "--seq-len",
    "16",
    "--eval-interval",
    "2",
    "--eval-batches",
    "1",
    "--warmup-steps",
    "1",
    "--quiet",
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "code.py"
    path.write_text(CODE * 20, encoding="utf-8")
    return path


def test_every_train_config_field_is_an_option() -> None:
    args = build_parser().parse_args(
        [
            "--out",
            "x",
            "--lr",
            "0.01",
            "--grad-clip",
            "none",
            "--betas",
            "0.8",
            "0.9",
            "--compile",
            "true",
            "--model",
            "n_layers=3",
            "--model",
            "position=rope",
        ]
    )
    model, train = configs_from_args(args, vocab_size=300)
    assert (train.lr, train.grad_clip, train.betas, train.compile) == (
        0.01,
        None,
        (0.8, 0.9),
        True,
    )
    assert (model.n_layers, model.position, model.vocab_size) == (3, "rope", 300)


def test_main_trains_writes_and_resumes(tmp_path, corpus) -> None:
    out = tmp_path / "run"
    summary = main(
        ["--out", str(out), "--files", str(corpus), "--tokenizer", "byte", *TINY]
    )
    assert summary["steps"] == 4 and summary["val_loss"] is not None
    assert ckpt.read(out / "checkpoint")[0]["step"] == 4
    again = main(
        [
            "--out",
            str(out),
            "--files",
            str(corpus),
            "--tokenizer",
            "byte",
            "--resume",
            *TINY,
        ]
    )
    assert again["train_loss"] == summary["train_loss"]  # nothing left to do


def test_python_dash_m_with_bpe(tmp_path, corpus, repo_root) -> None:
    out = tmp_path / "run"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmlab.train",
            "--out",
            str(out),
            "--files",
            str(corpus),
            "--vocab-size",
            "280",
            *TINY,
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 4
    assert (out / "tokenizer.json").is_file()
