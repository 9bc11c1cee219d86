"""Checks and guards of the training command line, run before (and around) work.

Each check raises ``UsageError`` with one line naming the argument and the fix:
the device exists, the files are readable, the output directory is writable and
holds no run that would be overwritten silently, the tokenizer cached there was
built from the same files and vocabulary size, and the splits hold a window.
``Signals`` turns SIGINT/SIGTERM into a clean stop: before training, an
``Interrupted`` exception; during training, a flag ``fit`` checks after each
step, so it saves a checkpoint and returns.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import torch

from llmlab.data import split_train_val
from llmlab.recipes.config_args import UsageError
from llmlab.tokenizer import BPETokenizer, ByteTokenizer
from llmlab.train import checkpoint as ckpt
from llmlab.utils.atomic import atomic_replace
from llmlab.utils.device import pick_device


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived before training started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.name, self.code = signal.Signals(signum).name, 128 + signum


def device(name: str | None) -> torch.device:
    try:
        return pick_device(name) if name is not None else torch.device("cpu")
    except (RuntimeError, ValueError) as error:
        raise UsageError(f"--device {name!r}: {error}") from None


def files(paths: list[Path]) -> list[Path]:
    for path in paths:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise UsageError(f"--files: {path} is not a readable file")
    return paths


def output(args, train_config) -> Path:
    """Check --out before any work; returns the checkpoint directory."""
    out, checkpoint_dir = args.out, args.out / "checkpoint"
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if ckpt.exists(checkpoint_dir) and not (args.resume or args.overwrite):
        raise UsageError(
            f"--out {out} already holds a training run; pass --resume to continue "
            "it or --overwrite to replace it"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as error:
        raise UsageError(f"--out {out} is not writable: {error}") from None
    if args.overwrite:
        with ckpt.DirectoryLock(checkpoint_dir):  # refuses while a run writes there
            pass
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        for name in ("tokenizer.json", "tokenizer.key.json"):
            (out / name).unlink(missing_ok=True)
    return checkpoint_dir


def tokenizer(args, paths: list[Path]):
    """The run's tokenizer: cached in --out, keyed on the files and vocabulary."""
    if args.tokenizer == "byte":
        return ByteTokenizer()
    path, key_path = args.out / "tokenizer.json", args.out / "tokenizer.key.json"
    key = {"vocab_size": args.vocab_size, "files_sha256": _digest(paths)}
    if path.exists():
        saved = _read_json(key_path)
        if saved != key:
            what = [k for k in key if (saved or {}).get(k) != key[k]] or ["unknown"]
            raise UsageError(
                f"{path} was built from different {' and '.join(what)} than this "
                "run's --files/--vocab-size; use another --out or --overwrite"
            )
        try:
            return BPETokenizer.load(path)
        except (ValueError, KeyError, TypeError, OSError):
            pass  # a truncated or damaged cache: build it again below
    built = BPETokenizer.train(
        [str(p) for p in paths], vocab_size=args.vocab_size, progress=not args.quiet
    )
    with atomic_replace(path) as tmp:
        built.save(tmp)
    with atomic_replace(key_path) as tmp:  # written last: marks a complete cache
        tmp.write_text(json.dumps(key), encoding="utf-8")
    return built


def splits(tokens, val_fraction: float, window: int):
    """(train, val) token streams, each holding at least one window."""
    try:
        train, val = split_train_val(tokens, val_fraction=val_fraction)
    except ValueError as error:
        raise UsageError(f"--val-fraction {val_fraction}: {error}") from None
    for name, part in (("training", train), ("validation", val)):
        if len(part) < window + 1:
            raise UsageError(
                f"the {name} split holds {len(part)} tokens, fewer than one window "
                f"of {window} + 1; use more text, change --val-fraction or lower "
                "--seq-len"
            )
    return train, val


class Signals:
    """SIGINT/SIGTERM handlers for the duration of a ``with`` block."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.training = False

    def __enter__(self) -> Signals:
        self._old = {
            s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)

    def during_training(self) -> None:
        self.training = True

    def requested(self) -> bool:
        return self.received is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name

    @property
    def code(self) -> int:
        return 128 + self.received

    def _handle(self, signum, frame) -> None:
        if not self.training:
            raise Interrupted(signum)
        self.received = signum  # fit saves a checkpoint after this step and returns


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        content = path.read_bytes()
        digest.update(f"{len(content)}:".encode())
        digest.update(content)
    return digest.hexdigest()


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
