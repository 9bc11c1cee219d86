from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from llmlab.train import CheckpointError, TrainConfig, fit
from llmlab.train import checkpoint as ckpt
from llmlab.train.loop import build_optimizer
from tests.train.conftest import tiny_model

CONFIG = TrainConfig(
    max_steps=10,
    batch_size=4,
    seq_len=16,
    warmup_steps=3,
    eval_interval=4,
    eval_batches=2,
    checkpoint_interval=3,
)

KILLED_RUN = """
import os, signal, sys
import numpy as np
from llmlab.train import TrainConfig, fit
from tests.train.conftest import tiny_model

def die_after_step_seven(history):
    if len(history.step) == 7:  # the checkpoint of step 6 is on disk
        os.kill(os.getpid(), signal.SIGKILL)

tokens = np.load(sys.argv[1])
config = TrainConfig(**{config})
fit(tiny_model(), tokens, config, val_tokens=tokens[:200], progress=False,
    checkpoint_dir=sys.argv[2], callback=die_after_step_seven)
"""


def test_save_kill_resume_equals_an_uninterrupted_run(
    tmp_path, code_tokens, repo_root
) -> None:
    val = code_tokens[:200]
    whole = fit(tiny_model(), code_tokens, CONFIG, val_tokens=val, progress=False)
    np.save(tmp_path / "tokens.npy", code_tokens)
    script = KILLED_RUN.replace("{config}", repr(CONFIG.to_dict()))
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(script),
            str(tmp_path / "tokens.npy"),
            str(tmp_path / "ckpt"),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    assert json.loads((tmp_path / "ckpt" / "checkpoint.json").read_text())["step"] == 6
    # A differently initialised model: everything must come from the checkpoint.
    resumed = fit(
        tiny_model(seed=123),
        code_tokens,
        CONFIG,
        val_tokens=val,
        progress=False,
        checkpoint_dir=tmp_path / "ckpt",
        resume=True,
    )
    assert resumed.train_loss == whole.train_loss
    assert resumed.val_loss == whole.val_loss
    assert resumed.step == list(range(10))


def _saved(tmp_path, code_tokens):
    model = tiny_model()
    fit(model, code_tokens, CONFIG, progress=False, checkpoint_dir=tmp_path)
    return model


def test_round_trip_restores_weights_and_optimizer(tmp_path, code_tokens) -> None:
    model = _saved(tmp_path, code_tokens)
    twin = tiny_model(seed=5)
    opt = build_optimizer(twin, CONFIG)
    index = ckpt.load(tmp_path, model=twin, optimizer=opt)
    assert index["step"] == 10
    for a, b in zip(model.state_dict().values(), twin.state_dict().values()):
        assert torch.equal(a, b)
    assert all(s["step"] == 10 for s in opt.state.values())


def test_truncated_weights_are_rejected(tmp_path, code_tokens) -> None:
    _saved(tmp_path, code_tokens)
    (weights,) = tmp_path.glob("weights-*.safetensors")
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        ckpt.load(tmp_path, model=tiny_model())


def test_flipped_byte_is_rejected(tmp_path, code_tokens) -> None:
    _saved(tmp_path, code_tokens)
    (weights,) = tmp_path.glob("weights-*.safetensors")
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        ckpt.load(tmp_path, model=tiny_model())


def test_truncated_json_is_rejected(tmp_path, code_tokens) -> None:
    _saved(tmp_path, code_tokens)
    index = tmp_path / "checkpoint.json"
    index.write_text(index.read_text()[:100])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        ckpt.load(tmp_path, model=tiny_model())


def test_missing_checkpoint_and_wrong_model(tmp_path, code_tokens) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        ckpt.load(tmp_path / "nothing")
    _saved(tmp_path, code_tokens)
    other = torch.nn.Linear(3, 3)
    with pytest.raises(CheckpointError, match="does not fit module .model."):
        ckpt.load(tmp_path, model=other)


def test_a_crash_while_saving_keeps_the_last_good_checkpoint(
    tmp_path, code_tokens, monkeypatch
) -> None:
    model = _saved(tmp_path, code_tokens)
    good = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(ckpt.files.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        ckpt.save(tmp_path, model=model)
    monkeypatch.undo()
    restored = tiny_model(seed=9)
    ckpt.load(tmp_path, model=restored)
    for name, value in restored.state_dict().items():
        assert torch.equal(value, good[name]), name


def test_resume_with_a_different_config_is_refused(tmp_path, code_tokens) -> None:
    _saved(tmp_path, code_tokens)
    other = TrainConfig(**{**CONFIG.to_dict(), "betas": (0.9, 0.95), "lr": 1.0})
    with pytest.raises(CheckpointError, match=r"differs in \['lr'\]"):
        fit(
            tiny_model(),
            code_tokens,
            other,
            progress=False,
            checkpoint_dir=tmp_path,
            resume=True,
        )


def test_tied_weights_are_stored_once(tmp_path) -> None:
    model = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 5))
    model[1].weight = model[0].weight
    ckpt.save(tmp_path, model=model)
    index = json.loads((tmp_path / "checkpoint.json").read_text())
    assert index["modules"]["model"]["aliases"] == {"1.weight": "0.weight"}
    twin = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 5))
    ckpt.load(tmp_path, model=twin)
    assert torch.equal(twin[1].weight, model[0].weight)
    assert not list(tmp_path.glob(".*tmp")), os.listdir(tmp_path)
