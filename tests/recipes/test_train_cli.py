from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from llmlab.recipes import train_cli
from llmlab.recipes.config_args import UsageError
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


def _fails(argv, capsys, code=2):
    """main(argv) exits with ``code`` and one stderr line; returns that line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if tokenization starts (checks must come first)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(train_cli, "tokenize_files", forbidden)
    monkeypatch.setattr(train_cli.checks, "tokenizer", forbidden)


def test_an_existing_run_is_not_overwritten_silently(tmp_path, corpus, capsys) -> None:
    out = tmp_path / "run"
    ckpt.save(out / "checkpoint", model=torch.nn.Linear(2, 2))
    before = (out / "checkpoint" / "checkpoint.json").read_bytes()
    argv = ["--out", str(out), "--files", str(corpus), "--tokenizer", "byte", *TINY]
    err = _fails(argv, capsys)
    assert "--resume" in err and "--overwrite" in err
    assert (out / "checkpoint" / "checkpoint.json").read_bytes() == before
    assert main([*argv, "--overwrite"])["steps"] == 4
    assert ckpt.read(out / "checkpoint")[0]["step"] == 4


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--device", "cuda:7"], "--device 'cuda:7'"),
        (["--device", "banana"], "--device 'banana': unknown device 'banana'"),
        (["--lr", "nan"], "argument --lr: expected a finite number"),
        (["--grad-clip", "inf"], "argument --grad-clip: expected a finite"),
        (["--weight-decay", "-1"], "weight_decay=-1.0"),
        (["--model", "tie_embeddings=maybe"], "expected true/false"),
        (["--model", "n_layers=2.5"], "expected an integer"),
        (["--model", "heads=4"], "no field 'heads'"),
        (["--model", "vocab_size=10"], "set by the tokenizer"),
        (["--seq-len", "999"], "exceeds the model's context_length"),
        (["--resume", "--overwrite"], "exclude each other"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors_before_work(
    tmp_path, corpus, capsys, no_work, extra, message
) -> None:
    argv = ["--out", str(tmp_path / "run"), "--files", str(corpus), *TINY, *extra]
    assert message in _fails(argv, capsys)


def test_missing_files_and_unwritable_out_are_found_first(
    tmp_path, corpus, capsys, no_work
) -> None:
    missing = ["--out", str(tmp_path / "run"), "--files", str(tmp_path / "nope.py")]
    assert "is not a readable file" in _fails([*missing, *TINY], capsys)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    unwritable = ["--out", str(blocker / "run"), "--files", str(corpus), *TINY]
    assert "is not writable" in _fails(unwritable, capsys)


def test_a_validation_split_shorter_than_a_window_is_refused(
    tmp_path, corpus, capsys
) -> None:
    argv = ["--out", str(tmp_path / "r"), "--files", str(corpus), "--tokenizer"]
    err = _fails([*argv, "byte", *TINY, "--val-fraction", "0.01"], capsys)
    assert "validation split holds 12 tokens" in err
    assert not (tmp_path / "r" / "checkpoint").exists()


def test_model_overrides_are_parsed_by_field_type() -> None:
    args = build_parser().parse_args(
        [
            "--out",
            "x",
            "--model",
            "tie_embeddings=False",
            "--model",
            "bias=no",
            "--model",
            "attention_window=none",
            "--model",
            "dropout=0.1",
        ]
    )
    model, _ = configs_from_args(args, vocab_size=300)
    assert model.tie_embeddings is False and model.bias is False
    assert model.attention_window is None and model.dropout == 0.1


def test_the_tokenizer_cache_is_keyed_on_files_and_vocabulary(tmp_path, corpus) -> None:
    args = build_parser().parse_args(["--out", str(tmp_path), "--vocab-size", "260"])
    args.quiet = True
    first = train_cli.checks.tokenizer(args, [corpus])
    args.vocab_size = 270
    with pytest.raises(UsageError, match="different vocab_size"):
        train_cli.checks.tokenizer(args, [corpus])
    args.vocab_size = 260
    corpus.write_text("something else entirely\n" * 50, encoding="utf-8")
    with pytest.raises(UsageError, match="different files_sha256"):
        train_cli.checks.tokenizer(args, [corpus])
    corpus.write_text(CODE * 20, encoding="utf-8")
    path = tmp_path / "tokenizer.json"
    path.write_text(path.read_text()[:100])  # truncated: rebuilt, not a crash
    again = train_cli.checks.tokenizer(args, [corpus])
    assert again.encode(CODE) == first.encode(CODE)


def test_signals_map_to_conventional_exit_codes() -> None:
    # whatever handler was there (SIG_IGN under nohup or a background job) returns
    previous = signal.getsignal(signal.SIGINT)
    with train_cli.checks.Signals() as signals:
        with pytest.raises(train_cli.checks.Interrupted) as before:
            signal.raise_signal(signal.SIGINT)  # before training: stop at once
        assert before.value.code == 130
        signals.during_training()
        signal.raise_signal(signal.SIGTERM)  # during training: a flag for fit
        assert signals.requested() and signals.code == 143
    assert signal.getsignal(signal.SIGINT) is previous


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path, corpus, repo_root) -> None:
    out = tmp_path / "run"
    argv = ["--out", str(out), "--files", str(corpus), "--tokenizer", "byte", *TINY]
    argv[argv.index("--max-steps") + 1] = "100000"
    run = subprocess.Popen(
        [sys.executable, "-m", "llmlab.train", *argv],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint" / ".lock").exists():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        run.send_signal(signal.SIGTERM)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 143, stderr[-2000:]
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    step = ckpt.read(out / "checkpoint")[0]["step"]
    assert f"stopped by SIGTERM after step {step}; checkpoint saved" in stderr
    assert 1 <= step < 100000
