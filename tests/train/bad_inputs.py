"""Bad input to training and checkpoints and the error it gives: one case list,
read by tests/test_troubleshooting.py and scripts/troubleshooting_page.py (see
tests/tokenizer/bad_inputs.py for the format of a case).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from llmlab.model import GPT, GPTConfig
from llmlab.train import TrainConfig, checkpoint
from llmlab.train.checkpoint import CheckpointError

SECTION = "Training and checkpoints"
INTRO = (
    "Errors from `llmlab.train`. A checkpoint is a folder holding `checkpoint.json`"
    " and a safetensors file whose SHA-256 the index records; loading checks both, "
    "and the model's configuration, before any weight is copied."
)
NOTES = ""

CONFIG = GPTConfig(
    vocab_size=64, context_length=32, d_model=16, n_heads=2, n_layers=1, d_ff=32
)


def _model(config: GPTConfig = CONFIG) -> GPT:
    return GPT(config, generator=torch.Generator().manual_seed(0))


def _saved(workdir: Path) -> Path:
    directory = workdir / "ckpt"
    checkpoint.save(directory, model=_model())
    return directory


def _truncated_weights(workdir: Path) -> Path:
    directory = _saved(workdir)
    index = json.loads((directory / checkpoint.INDEX).read_text(encoding="utf-8"))
    weights = directory / index["weights_file"]
    weights.write_bytes(weights.read_bytes()[:1000])
    return directory


def _other_width(workdir: Path):
    directory = _saved(workdir)
    return checkpoint.load(
        directory, model=_model(dataclasses.replace(CONFIG, d_model=32))
    )


def _nan_weights(workdir: Path):
    model = _model()
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    return checkpoint.save(workdir / "ckpt", model=model)


CASES = [
    {
        "title": "A minimum learning rate above the peak",
        "code": "TrainConfig(lr=1e-4, min_lr=1e-3)",
        "run": lambda w: TrainConfig(lr=1e-4, min_lr=1e-3),
        "raises": ValueError,
        "match": r"need 0 <= min_lr=0.001 <= lr=0.0001",
    },
    {
        "title": "Zero training steps",
        "code": "TrainConfig(max_steps=0)",
        "run": lambda w: TrainConfig(max_steps=0),
        "raises": ValueError,
        "match": r"max_steps=0 must be a positive int",
    },
    {
        "title": "Loading from a folder that holds no checkpoint",
        "code": 'checkpoint.load("ckpt", model=model)',
        "run": lambda w: checkpoint.load(w / "ckpt", model=_model()),
        "raises": CheckpointError,
        "match": r"no checkpoint in <dir>/ckpt: checkpoint.json is missing",
    },
    {
        "title": "Loading a checkpoint whose weights file was cut short",
        "code": 'checkpoint.load("ckpt", model=model)',
        "run": lambda w: checkpoint.load(_truncated_weights(w), model=_model()),
        "raises": CheckpointError,
        "match": r"corrupted or truncated: SHA-256 .* does not match",
    },
    {
        "title": "Loading a checkpoint into a model of another width",
        "code": 'checkpoint.load("ckpt", model=GPT(wider_config))',
        "run": _other_width,
        "raises": CheckpointError,
        "match": r"different 'model' configuration \(d_model: saved 16, model 32\)",
    },
    {
        "title": "Saving a model whose weights hold a NaN",
        "code": 'checkpoint.save("ckpt", model=model)',
        "run": _nan_weights,
        "raises": CheckpointError,
        "match": r"NaN/inf in \[.module.model.token_embedding.weight.\] into",
    },
]
