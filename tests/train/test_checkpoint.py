from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from llmlab.model import GPT
from llmlab.train import (
    CheckpointError,
    CheckpointLockedError,
    TrainConfig,
    build_optimizer,
    fit,
    load_checkpoint,
    save_checkpoint,
)
from llmlab.train import checkpoint as ckpt
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


def _trained_pair(seed: int):
    """A module and an optimizer with real state after two steps."""
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 1))
    opt = torch.optim.AdamW(module.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        module(torch.randn(3, 4)).sum().backward()
        opt.step()
    return module, opt


def test_named_modules_and_optimizers_round_trip_exactly(tmp_path) -> None:
    policy = tiny_model(seed=1)
    policy_opt = build_optimizer(policy, CONFIG, teaching=True)
    policy_opt.zero_grad()
    policy(torch.randint(256, (2, 8))).sum().backward()
    policy_opt.step()
    value, value_opt = _trained_pair(2)
    reference = tiny_model(seed=3)
    modules = {"policy": policy, "value": value, "reference": reference}
    optimizers = {"policy": policy_opt, "value": value_opt}
    save_checkpoint(
        tmp_path, modules=modules, optimizers=optimizers, step=17, extra={"kl": 0.5}
    )

    twins = {
        "policy": tiny_model(9),
        "value": _trained_pair(9)[0],
        "reference": tiny_model(9),
    }
    twin_opts = {
        "policy": build_optimizer(twins["policy"], CONFIG, teaching=True),
        "value": torch.optim.AdamW(twins["value"].parameters(), lr=0.1),
    }
    index = load_checkpoint(tmp_path, modules=twins, optimizers=twin_opts)
    assert index["step"] == 17 and index["extra"] == {"kl": 0.5}
    for name, module in modules.items():
        for (key, a), b in zip(
            module.state_dict().items(), twins[name].state_dict().values()
        ):
            assert torch.equal(a, b), (name, key)
    for name, opt in optimizers.items():
        ours, theirs = opt.state_dict(), twin_opts[name].state_dict()
        assert ours["param_groups"] == theirs["param_groups"]
        for i, state in ours["state"].items():
            for key, v in state.items():
                w = theirs["state"][i][key]
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(w)), (name, key)
    with pytest.raises(CheckpointError, match=r"no module named 'reward'.*policy"):
        load_checkpoint(tmp_path, modules={"reward": tiny_model()})


def test_stale_temp_files_are_cleaned_on_save_and_load(tmp_path) -> None:
    model = tiny_model()
    ckpt.save(tmp_path, model=model)
    orphans = [tmp_path / ".weights-99999.tmp", tmp_path / ".checkpoint.json.9.tmp"]
    for orphan in orphans:
        orphan.write_bytes(b"x" * 1000)  # what a SIGKILL during a save leaves
    ckpt.load(tmp_path, model=tiny_model(seed=4))
    assert not any(o.exists() for o in orphans)
    orphans[0].write_bytes(b"x" * 1000)
    ckpt.save(tmp_path, model=model)
    assert not orphans[0].exists()
    assert len(list(tmp_path.glob("weights-*.safetensors"))) == 1


def test_a_second_writer_gets_a_clear_error(tmp_path, code_tokens) -> None:
    with ckpt.DirectoryLock(tmp_path):
        with pytest.raises(
            CheckpointLockedError, match=rf"another process \(pid {os.getpid()}\)"
        ):
            ckpt.save(tmp_path, model=tiny_model())
        steps = []
        with pytest.raises(CheckpointLockedError, match="being written"):
            fit(
                tiny_model(),
                code_tokens,
                CONFIG,
                progress=False,
                checkpoint_dir=tmp_path,
                callback=steps.append,
            )
        assert steps == []  # refused before the first step
    ckpt.save(tmp_path, model=tiny_model())  # released: the next writer proceeds


def test_a_save_between_reading_the_index_and_the_weights_is_survived(
    tmp_path, monkeypatch
) -> None:
    """The race a polling reader hits: it has read the index naming the old
    weights file when a writer commits a new checkpoint and deletes that file."""
    model = torch.nn.Linear(8, 8)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ckpt.save(tmp_path, model=model)
    read_index, raced = ckpt.files.read_index, []

    def index_then_a_save(directory):
        index = read_index(directory)
        if not raced:
            raced.append(index["weights_file"])
            with torch.no_grad():
                model.weight.fill_(2.0)
            ckpt.save(tmp_path, model=model)  # deletes the file `index` names
        return index

    monkeypatch.setattr(ckpt.files, "read_index", index_then_a_save)
    _, tensors = ckpt.read(tmp_path)
    assert not (tmp_path / raced[0]).exists()
    assert bool((tensors["module.model.weight"] == 2.0).all())


def test_a_non_finite_model_never_replaces_a_good_checkpoint(tmp_path) -> None:
    model = tiny_model()
    ckpt.save(tmp_path, model=model)
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN/inf in .*token_embedding.weight"):
        ckpt.save(tmp_path, model=model)
    restored = tiny_model(seed=2)
    ckpt.load(tmp_path, model=restored)
    assert torch.isfinite(restored.head.weight).all()
    assert torch.equal(restored.blocks[0].ffn.up.weight, model.blocks[0].ffn.up.weight)


def test_a_different_model_config_is_refused_even_when_shapes_fit(tmp_path) -> None:
    ckpt.save(tmp_path, model=tiny_model())
    other = dataclasses.replace(tiny_model().config, attention_window=8)
    with pytest.raises(CheckpointError, match="attention_window: saved None, model 8"):
        ckpt.load(tmp_path, model=GPT(other))


def test_version_1_checkpoints_still_load(tmp_path) -> None:
    model = tiny_model()
    tensors = {
        f"model.{k}": v for k, v in model.state_dict().items() if k != "head.weight"
    }
    from safetensors.torch import save_file

    save_file(tensors, str(tmp_path / "weights-old.safetensors"))
    index = {
        "format": "llmlab-checkpoint",
        "version": 1,
        "aliases": {"head.weight": "token_embedding.weight"},
        "step": 3,
        "model_config": None,
        "rng": {"generator": None, "torch": None},
        "weights_file": "weights-old.safetensors",
        "weights_sha256": ckpt.files.sha256_file(tmp_path / "weights-old.safetensors"),
    }
    (tmp_path / "checkpoint.json").write_text(json.dumps(index))
    twin = tiny_model(seed=5)
    assert ckpt.load(tmp_path, model=twin)["step"] == 3
    assert torch.equal(twin.head.weight, model.head.weight)
