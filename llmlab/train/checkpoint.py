"""Checkpoints: safetensors for tensors, JSON for everything else, written atomically.

A checkpoint is a directory holding two files:

- ``weights-<hash>.safetensors``: the model's weights and the optimizer's tensors
  (AdamW's two moving averages per weight). safetensors stores raw tensors with a
  JSON header; unlike ``torch.save`` it cannot run code when loaded (no pickle).
- ``checkpoint.json``: the configs, the step, the optimizer's hyper-parameters,
  the random-number generator states, the metrics history, and the name and
  SHA-256 of the weights file.

The JSON file is the commit point. Saving writes a new weights file under a new
name, then a temporary JSON file, flushes both to disk (fsync) and finally renames
the JSON over the old one (``os.replace`` is atomic). A crash at any moment leaves
either the old checkpoint or the new one, never a mix; loading checks the hash,
so a truncated or corrupted file is rejected with a clear error.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from llmlab.utils.atomic import atomic_replace, fsync_dir, fsync_file

FORMAT, VERSION = "llmlab-checkpoint", 1
INDEX = "checkpoint.json"


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, corrupted or does not fit."""


def exists(directory: str | Path) -> bool:
    return (Path(directory) / INDEX).is_file()


def save(
    directory: str | Path,
    *,
    model: nn.Module,
    optimizer=None,
    config=None,
    history=None,
    generator: torch.Generator | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a checkpoint into ``directory`` atomically; returns the JSON path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors, aliases = _model_tensors(model)
    index = {
        "format": FORMAT,
        "version": VERSION,
        "aliases": aliases,
        "step": len(history.step) if history is not None else 0,
        "model_config": _config_dict(getattr(model, "config", None)),
        "train_config": config.to_dict() if config is not None else None,
        "history": history.to_dict() if history is not None else None,
        "rng": _rng_states(generator),
        "extra": extra or {},
    }
    if optimizer is not None:
        index["optimizer"] = _optimizer_state(optimizer, tensors)
    weights = _write_weights(directory, tensors)
    index["weights_file"], index["weights_sha256"] = weights.name, _sha256(weights)
    _atomic_write_text(directory / INDEX, json.dumps(index, indent=1))
    _remove_stale(directory, keep=weights.name)
    return directory / INDEX


def load(
    directory: str | Path,
    *,
    model: nn.Module | None = None,
    optimizer=None,
    generator: torch.Generator | None = None,
    restore_global_rng: bool = False,
) -> dict:
    """Read and verify a checkpoint; load it into whatever objects are given.

    Returns the JSON index (a dict). Raises ``CheckpointError`` when anything is
    missing, truncated, corrupted, or does not match the model.
    """
    index, tensors = read(directory)
    if model is not None:
        state = {
            k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")
        }
        state.update({alias: state[orig] for alias, orig in index["aliases"].items()})
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise CheckpointError(
                f"checkpoint in {directory} does not fit the model: {error}"
            ) from error
    if optimizer is not None:
        if "optimizer" not in index:
            raise CheckpointError(f"checkpoint in {directory} has no optimizer state")
        optimizer.load_state_dict(_optimizer_state_dict(index["optimizer"], tensors))
    rng = index["rng"]
    if generator is not None and rng.get("generator") is not None:
        generator.set_state(_decode_state(rng["generator"]))
    if restore_global_rng:
        torch.set_rng_state(_decode_state(rng["torch"]))
    return index


def read(directory: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The verified JSON index and every tensor of a checkpoint."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    path = directory / INDEX
    if not path.is_file():
        raise CheckpointError(f"no checkpoint in {directory}: {INDEX} is missing")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(
            f"{path} is not valid JSON (truncated or corrupted?): {error}"
        ) from error
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an llmlab checkpoint")
    if index.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has version {index.get('version')!r}, "
            f"this llmlab reads version {VERSION}"
        )
    weights = directory / str(index.get("weights_file"))
    if not weights.is_file():
        raise CheckpointError(f"weights file {weights} named in {path} is missing")
    digest = _sha256(weights)
    if digest != index.get("weights_sha256"):
        raise CheckpointError(
            f"{weights} is corrupted or truncated: SHA-256 {digest[:16]}... does not "
            f"match {str(index.get('weights_sha256'))[:16]}... recorded in {path}"
        )
    try:
        return index, load_file(str(weights))
    except SafetensorError as error:
        raise CheckpointError(f"{weights} cannot be read: {error}") from error


def resume(directory: str | Path, *, model: nn.Module, optimizer, generator, config):
    """Load everything ``fit`` needs to continue; returns the restored History."""
    from llmlab.train.history import History

    index = load(
        directory,
        model=model,
        optimizer=optimizer,
        generator=generator,
        restore_global_rng=True,
    )
    saved = index["train_config"]
    ignorable = {"eval_interval", "eval_batches", "checkpoint_interval"}
    differ = sorted(
        k
        for k, v in config.to_dict().items()
        if k not in ignorable and saved.get(k) != v
    )
    if differ:
        raise CheckpointError(
            f"cannot resume from {directory}: TrainConfig differs in {differ} "
            f"(checkpoint: {[saved.get(k) for k in differ]})"
        )
    return History.from_dict(index["history"])


def _model_tensors(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """State dict as ``model.<name>`` tensors; tied (shared) tensors stored once."""
    tensors, aliases, seen = {}, {}, {}
    for name, value in model.state_dict().items():
        key = (value.data_ptr(), value.shape, value.stride(), value.dtype)
        if value.numel() and key in seen:
            aliases[name] = seen[key]  # e.g. a head weight tied to the embedding
            continue
        seen[key] = name
        tensors[f"model.{name}"] = value.detach().cpu().contiguous()
    return tensors, aliases


def _optimizer_state(optimizer, tensors: dict) -> dict:
    """Hyper-parameters and scalar state to JSON; state tensors into ``tensors``."""
    state_dict = optimizer.state_dict()
    scalars = {}
    for index, state in state_dict["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        for group in state_dict["param_groups"]
    ]
    return {"param_groups": groups, "scalars": scalars}


def _optimizer_state_dict(saved: dict, tensors: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in saved["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [
        {k: (tuple(v) if k == "betas" else v) for k, v in group.items()}
        for group in saved["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def _config_dict(config) -> dict | None:
    if config is None or not dataclasses.is_dataclass(config):
        return None
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def config_from_dict(cls, values: dict):
    """Rebuild a frozen config dataclass saved in a checkpoint (lists -> tuples)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise CheckpointError(
            f"saved {cls.__name__} has unknown fields {sorted(unknown)}"
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _rng_states(generator: torch.Generator | None) -> dict:
    return {
        "generator": _encode_state(generator.get_state()) if generator else None,
        "torch": _encode_state(torch.get_rng_state()),
    }


def _encode_state(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode("ascii")


def _decode_state(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)


def _write_weights(directory: Path, tensors: dict[str, torch.Tensor]) -> Path:
    from safetensors.torch import save_file

    tmp = directory / f".weights-{os.getpid()}.tmp"
    save_file(tensors, str(tmp))
    fsync_file(tmp)
    final = directory / f"weights-{_sha256(tmp)[:16]}.safetensors"
    os.replace(tmp, final)
    fsync_dir(directory)
    return final


def _atomic_write_text(path: Path, text: str) -> None:
    with atomic_replace(path) as tmp:  # readers see the old file or the new one
        tmp.write_text(text, encoding="utf-8")


def _remove_stale(directory: Path, *, keep: str) -> None:
    for old in directory.glob("weights-*.safetensors"):
        if old.name != keep:
            old.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
