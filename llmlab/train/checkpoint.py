"""Checkpoints: named modules and optimizers, safetensors + JSON, written atomically.

A checkpoint is a directory holding two files:

- ``weights-<hash>.safetensors``: the tensors of every named module
  (``module.<name>.<param>``) and optimizer (``optimizer.<name>.<i>.<key>``, e.g.
  AdamW's two moving averages). safetensors stores raw tensors with a JSON header;
  unlike ``torch.save`` it cannot run code when loaded (no pickle).
- ``checkpoint.json``: the step, each module's config and tied-weight aliases,
  each optimizer's hyper-parameters, the training config and metrics history, the
  random-number generator states, and the name and SHA-256 of the weights file.

Pretraining saves one module, ``"model"``; RLHF saves several together, e.g.
``save_checkpoint(d, modules={"policy": p, "value": v, "reference": r},
optimizers={"policy": opt_p, "value": opt_v}, step=it)``. The JSON file is the
commit point (see ``checkpoint_files``): a crash leaves the old checkpoint or the
new one, a reader sees one of them, and loading checks the hash. A checkpoint
holding a NaN or infinity is refused, so a diverged run never replaces a good one.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from llmlab.train import checkpoint_files as files
from llmlab.train import checkpoint_state as state
from llmlab.train.checkpoint_files import (
    INDEX,
    CheckpointError,
    CheckpointLockedError,
    DirectoryLock,
)

FORMAT, VERSION = "llmlab-checkpoint", 2
__all__ = ["CheckpointError", "CheckpointLockedError", "DirectoryLock", "INDEX"]


def exists(directory: str | Path) -> bool:
    return (Path(directory) / INDEX).is_file()


def save_checkpoint(
    directory: str | Path,
    *,
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    step: int,
    train_config=None,
    history=None,
    generator: torch.Generator | None = None,
    extra: dict | None = None,
    lock: DirectoryLock | None = None,
) -> Path:
    """Write named modules and optimizers into ``directory`` atomically.

    Every rank of a distributed run calls this (gathering a sharded module is a
    collective); rank 0 writes. ``lock`` is a ``DirectoryLock`` the caller
    already holds (``fit`` holds one for the whole run); without it the
    directory is locked for the duration of the save. Returns the JSON path.
    """
    directory, optimizers = Path(directory), dict(optimizers or {})
    _check_names(modules, optimizers)
    tensors, index = {}, _index_head(step, train_config, history, generator, extra)
    for name, module in modules.items():
        weights, aliases = state.module_tensors(module)
        config = state.config_dict(getattr(state.unwrap(module), "config", None))
        index["modules"][name] = {"config": config, "aliases": aliases}
        tensors.update({f"module.{name}.{k}": v for k, v in weights.items()})
    for name, optimizer in optimizers.items():
        opt_tensors, index["optimizers"][name] = state.optimizer_tensors(optimizer)
        tensors.update({f"optimizer.{name}.{k}": v for k, v in opt_tensors.items()})
    if _rank() == 0:
        bad = state.non_finite(tensors)
        if bad:
            raise CheckpointError(
                f"refusing to save a checkpoint with NaN/inf in {bad[:5]} into "
                f"{directory}; the previous checkpoint there is kept"
            )
        _write(directory, tensors, index, lock)
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # no rank reads the directory before rank 0 has written
    return directory / INDEX


def load_checkpoint(
    directory: str | Path,
    *,
    modules: Mapping[str, nn.Module] | None = None,
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    generator: torch.Generator | None = None,
    restore_global_rng: bool = False,
) -> dict:
    """Read and verify a checkpoint; load it into the named objects given.

    A module whose ``config`` differs from the saved one is refused (naming the
    fields), even when the tensor shapes would fit. Returns the JSON index.
    """
    directory = Path(directory)
    index, tensors = read(directory)
    for name, module in (modules or {}).items():
        saved = _entry(index, "modules", name, directory)
        _check_config(saved["config"], module, name, directory)
        weights = _prefixed(tensors, f"module.{name}.")
        weights.update({a: weights[n] for a, n in saved["aliases"].items()})
        try:
            state.load_module(module, weights)
        except RuntimeError as error:
            raise CheckpointError(
                f"checkpoint in {directory} does not fit module {name!r}: {error}"
            ) from error
    for name, optimizer in (optimizers or {}).items():
        saved = _entry(index, "optimizers", name, directory)
        opt_tensors = _prefixed(tensors, f"optimizer.{name}.")
        optimizer.load_state_dict(state.optimizer_state_dict(saved, opt_tensors))
    rng = index["rng"]
    if generator is not None and rng.get("generator") is not None:
        generator.set_state(state.decode_state(rng["generator"]))
    if restore_global_rng:
        torch.set_rng_state(state.decode_state(rng["torch"]))
    return index


def read(directory: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The verified JSON index and every tensor of a checkpoint (any version)."""
    directory = Path(directory)
    files.clean_if_idle(directory)
    index, tensors = files.read_verified(directory)
    if index.get("format") != FORMAT:
        raise CheckpointError(f"{directory / INDEX} is not an llmlab checkpoint")
    if index.get("version") == 1:
        return _upgrade_v1(index, tensors)
    if index.get("version") != VERSION:
        raise CheckpointError(
            f"{directory / INDEX} has version {index.get('version')!r}, "
            f"this llmlab reads versions 1 and {VERSION}"
        )
    return index, tensors


def module_config(index: dict, name: str = "model") -> dict | None:
    """The saved config (plain dict) of module ``name`` in a checkpoint index."""
    return index["modules"][name]["config"]


def save(directory, *, model, optimizer=None, config=None, history=None, **kwargs):
    """One model (and optimizer) under the name ``"model"``; see save_checkpoint."""
    return save_checkpoint(
        directory,
        modules={"model": model},
        optimizers={"model": optimizer} if optimizer is not None else None,
        step=len(history.step) if history is not None else 0,
        train_config=config,
        history=history,
        **kwargs,
    )


def load(directory, *, model=None, optimizer=None, **kwargs) -> dict:
    """Load the ``"model"`` module (and optimizer); see load_checkpoint."""
    return load_checkpoint(
        directory,
        modules={"model": model} if model is not None else None,
        optimizers={"model": optimizer} if optimizer is not None else None,
        **kwargs,
    )


def resume(directory, *, model, optimizer, generator, config):
    """Load everything ``fit`` needs to continue; returns the restored History."""
    from llmlab.train.history import History

    saved = read_train_config(directory)
    ignorable = {
        "eval_interval",
        "eval_batches",
        "checkpoint_interval",
        "checkpoint_minutes",
    }
    current = config.to_dict()
    differ = sorted(
        k for k, v in current.items() if k not in ignorable and saved.get(k) != v
    )
    if differ:
        raise CheckpointError(
            f"cannot resume from {directory}: TrainConfig differs in {differ} "
            f"(checkpoint: {[saved.get(k) for k in differ]})"
        )
    index = load(
        directory,
        model=model,
        optimizer=optimizer,
        generator=generator,
        restore_global_rng=True,
    )
    return History.from_dict(index["history"])


def read_train_config(directory) -> dict:
    index = files.read_index(Path(directory))
    saved = dict(index.get("train_config") or {})
    defaults = {"checkpoint_minutes": None}  # fields newer than the checkpoint
    return {**defaults, **saved}


def config_from_dict(cls, values: dict):
    """Rebuild a frozen config dataclass saved in a checkpoint (lists -> tuples)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise CheckpointError(
            f"saved {cls.__name__} has unknown fields {sorted(unknown)}"
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _index_head(step, train_config, history, generator, extra) -> dict:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step={step!r} must be an int >= 0")
    return {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "modules": {},
        "optimizers": {},
        "train_config": train_config.to_dict() if train_config is not None else None,
        "history": history.to_dict() if history is not None else None,
        "rng": state.rng_states(generator),
        "extra": extra or {},
    }


def _write(directory: Path, tensors: dict, index: dict, lock) -> None:
    owned = lock is None
    lock = lock or DirectoryLock(directory)
    try:
        weights = files.write_weights(directory, tensors)
        index["weights_file"] = weights.name
        index["weights_sha256"] = files.sha256_file(weights)
        files.write_index(directory, index)
        files.remove_stale(directory, keep=weights.name)
    finally:
        if owned:
            lock.release()


def _check_names(modules: Mapping, optimizers: Mapping) -> None:
    for name in [*modules, *optimizers]:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(
                f"checkpoint names must be non-empty, without '.': {name!r}"
            )
    if not modules:
        raise ValueError("save_checkpoint needs at least one module")


def _entry(index: dict, kind: str, name: str, directory: Path) -> dict:
    if name not in index[kind]:
        raise CheckpointError(
            f"checkpoint in {directory} has no {kind[:-1]} named {name!r}; "
            f"it holds {sorted(index[kind])}"
        )
    return index[kind][name]


def _check_config(saved: dict | None, module: nn.Module, name: str, directory) -> None:
    current = state.config_dict(getattr(state.unwrap(module), "config", None))
    if saved is None or current is None or saved == current:
        return
    differ = sorted(k for k in {**saved, **current} if saved.get(k) != current.get(k))
    detail = ", ".join(
        f"{k}: saved {saved.get(k)!r}, model {current.get(k)!r}" for k in differ
    )
    raise CheckpointError(
        f"checkpoint in {directory} was saved from a different {name!r} "
        f"configuration ({detail})"
    )


def _prefixed(tensors: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _upgrade_v1(index: dict, tensors: dict) -> tuple[dict, dict]:
    """Version-1 checkpoints held one model and optimizer: name them "model"."""
    index = {**index, "version": VERSION, "optimizers": {}}
    index["modules"] = {
        "model": {"config": index.get("model_config"), "aliases": index["aliases"]}
    }
    if "optimizer" in index:
        index["optimizers"]["model"] = index["optimizer"]
    renamed = {}
    for key, value in tensors.items():
        kind, rest = key.split(".", 1)
        renamed[f"{'module' if kind == 'model' else 'optimizer'}.model.{rest}"] = value
    return index, renamed


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
