"""The files of a checkpoint directory: writer lock, atomic writes, verified reads.

- One writer at a time: a writer holds an exclusive ``flock`` on ``.lock`` in the
  directory; a second writer gets ``CheckpointLockedError`` naming the holder's
  process id instead of colliding with it.
- Atomic: tensors go to ``weights-<hash>.safetensors`` (a new name each time),
  then ``checkpoint.json`` is replaced atomically; it is the commit point.
- Consistent reads: a reader opens the weights file the index names; if a writer
  replaced the checkpoint in between (the old weights file is gone), it reads the
  new index and tries again, so it gets the old checkpoint or the new one, never
  ``FileNotFoundError``. The bytes are hashed and parsed from the same open file.
- Stale temporary files (left by a killed writer) are removed by the next save,
  and by the next load when no writer holds the lock.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from llmlab.utils.atomic import atomic_replace, fsync_dir, fsync_file

INDEX, LOCK = "checkpoint.json", ".lock"


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, corrupted or does not fit."""


class CheckpointLockedError(CheckpointError):
    """Another process is writing into the same checkpoint directory."""


class DirectoryLock:
    """An exclusive writer lock on a checkpoint directory (a context manager).

    Created with the directory; ``release()`` (or leaving the ``with``) unlocks.
    The operating system drops the lock when the process dies, even by SIGKILL.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _flock(self._fd)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
            os.close(self._fd)
            raise CheckpointLockedError(
                f"checkpoint directory {self.directory} is being written by another "
                f"process (pid {holder or '?'}); wait for it to finish or choose "
                "another directory"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; writers are not guarded
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def write_weights(directory: Path, tensors: dict[str, torch.Tensor]) -> Path:
    """Write tensors to a new content-named safetensors file; return its path."""
    from safetensors.torch import save_file

    tmp = directory / f".weights-{os.getpid()}.tmp"
    save_file(tensors, str(tmp))
    fsync_file(tmp)
    final = directory / f"weights-{sha256_file(tmp)[:16]}.safetensors"
    os.replace(tmp, final)
    fsync_dir(directory)
    return final


def write_index(directory: Path, index: dict) -> None:
    with atomic_replace(directory / INDEX) as tmp:  # old file or new, never half
        tmp.write_text(json.dumps(index, indent=1), encoding="utf-8")


def remove_stale(directory: Path, *, keep: str) -> None:
    """Old weights files and temporary files (call only while holding the lock)."""
    for old in directory.glob("weights-*.safetensors"):
        if old.name != keep:
            old.unlink(missing_ok=True)
    for tmp in directory.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def clean_if_idle(directory: Path) -> None:
    """Remove stale temporary files when no writer holds the directory's lock."""
    if not any(directory.glob(".*.tmp")) or not os.access(directory, os.W_OK):
        return
    try:
        with DirectoryLock(directory):
            for tmp in directory.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
    except (CheckpointLockedError, OSError):
        pass  # a writer is active (its temp files are not stale) or read-only


def read_verified(
    directory: Path, *, attempts: int = 20
) -> tuple[dict, dict[str, torch.Tensor]]:
    """The JSON index and the tensors it names, hash-checked, consistent."""
    for _ in range(attempts):
        index = read_index(directory)
        weights = directory / str(index.get("weights_file"))
        try:
            with open(weights, "rb") as f:  # once open, a replace cannot remove it
                data = f.read()
        except FileNotFoundError:
            if read_index(directory).get("weights_file") != index.get("weights_file"):
                continue  # a writer replaced the checkpoint meanwhile: read it anew
            raise CheckpointError(
                f"weights file {weights} named in {directory / INDEX} is missing"
            ) from None
        return index, _parse_weights(weights, data, index)
    raise CheckpointError(f"{directory} kept changing while being read")


def read_index(directory: Path) -> dict:
    path = directory / INDEX
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(
            f"no checkpoint in {directory}: {INDEX} is missing"
        ) from None
    try:
        index = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(
            f"{path} is not valid JSON (truncated or corrupted?): {error}"
        ) from error
    if not isinstance(index, dict):
        raise CheckpointError(f"{path} is not an llmlab checkpoint")
    return index


def _parse_weights(path: Path, data: bytes, index: dict) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    digest = hashlib.sha256(data).hexdigest()
    if digest != index.get("weights_sha256"):
        raise CheckpointError(
            f"{path} is corrupted or truncated: SHA-256 {digest[:16]}... does not "
            f"match {str(index.get('weights_sha256'))[:16]}... recorded in the index"
        )
    try:
        return load(data)
    except SafetensorError as error:
        raise CheckpointError(f"{path} cannot be read: {error}") from error


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
