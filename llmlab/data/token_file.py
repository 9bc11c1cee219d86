"""A corpus tokenized once into a memory-mapped file of token ids.

Tokenizing megabytes of text takes a while, and training reads random windows of
it thousands of times, so the ids are written once to a flat binary file (uint16
when the vocabulary fits, else uint32) and read back with ``numpy.memmap``: the
operating system pages in only the windows a batch touches, so a corpus larger
than memory trains just as well.

Writing streams: each document is encoded piece by piece (``encode_iterable`` when
the tokenizer has it) and ids are flushed to disk in blocks, so memory stays
bounded whatever the corpus size. ``tokenize_files`` caches the result under a
key made of the files' *contents* and the tokenizer's fingerprint, so a second call
with the same inputs opens the existing file instead of tokenizing again.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np
from tqdm import tqdm

from llmlab.utils.atomic import atomic_replace

_BLOCK = 1 << 20  # ids buffered in memory before each write
_PROBE = (
    "def greet(name: str) -> str:\n    return f'Hello, {name}!'  # 42 0x1F\n\n"
    "class Point:\n\tx: float = 3.14159\n\nThe quick brown fox, élan, 東京, 🙂.\n"
)
FORMAT_VERSION = 1


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype holding every id: uint16 up to 65,536 ids."""
    if vocab_size < 1:
        raise ValueError(f"vocab_size={vocab_size} must be >= 1")
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def write_tokens(
    documents: Iterable[str | Path],
    tokenizer,
    path: str | Path,
    *,
    separator_id: int | None = None,
    progress: bool = False,
    total_bytes: int | None = None,
) -> np.memmap:
    """Encode ``documents`` (strings or file paths) end to end into ``path``.

    ``separator_id`` (e.g. ``<|endoftext|>``) is written after each document, so
    the model learns where one file ends. The file appears atomically: it is
    written under a temporary name and renamed when complete.
    """
    path = Path(path)
    dtype = token_dtype(tokenizer.vocab_size)
    bar = tqdm(
        total=total_bytes,
        unit="B",
        unit_scale=True,
        disable=not progress,
        desc="tokenizing",
    )
    with atomic_replace(path) as tmp, open(tmp, "wb") as out:
        buffer: list[int] = []
        for document in documents:
            for chunk_ids in _encode_document(document, tokenizer, bar):
                buffer.extend(chunk_ids)
                if len(buffer) >= _BLOCK:
                    _flush(buffer, out, dtype, tokenizer.vocab_size)
            if separator_id is not None:
                buffer.append(separator_id)
        _flush(buffer, out, dtype, tokenizer.vocab_size)
    bar.close()
    return read_tokens(path, dtype=dtype)


def read_tokens(
    path: str | Path, *, dtype: np.dtype | str, n_tokens: int | None = None
) -> np.memmap:
    """Open a token file written by ``write_tokens`` read-only, as a 1-D memmap.

    With ``n_tokens`` (from the file's metadata), a file of any other length
    (truncated, or read with the wrong dtype) raises instead of giving wrong ids.
    """
    path = Path(path)
    dtype = np.dtype(dtype)
    size = path.stat().st_size
    if size % dtype.itemsize:
        raise ValueError(f"{path} has {size} bytes, not a whole number of {dtype} ids")
    if size == 0:
        raise ValueError(f"{path} holds no tokens")
    if n_tokens is not None and size != n_tokens * dtype.itemsize:
        raise ValueError(
            f"{path} has {size} bytes, but its metadata says {n_tokens} {dtype} ids "
            f"= {n_tokens * dtype.itemsize} bytes (truncated, or the wrong dtype?)"
        )
    return np.memmap(path, dtype=dtype, mode="r")


def tokenize_files(
    paths: Iterable[str | Path],
    tokenizer,
    *,
    cache_dir: str | Path,
    separator_id: int | None = None,
    progress: bool = True,
) -> np.memmap:
    """Token ids of ``paths`` (UTF-8 files, in order), cached in ``cache_dir``.

    The cache key hashes every file's bytes, the separator and the tokenizer's
    fingerprint: change any of them and the corpus is tokenized again.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no files to tokenize")
    key = _cache_key(paths, tokenizer, separator_id)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    data, meta = (
        cache_dir / f"tokens-{key[:24]}.bin",
        cache_dir / f"tokens-{key[:24]}.json",
    )
    if meta.is_file() and data.is_file():
        cached = _open_cached(data, meta, token_dtype(tokenizer.vocab_size), key)
        if cached is not None:
            return cached  # else: a damaged cache entry, tokenized again below
    total = sum(p.stat().st_size for p in paths)
    tokens = write_tokens(
        paths,
        tokenizer,
        data,
        separator_id=separator_id,
        progress=progress,
        total_bytes=total,
    )
    info = {
        "format": FORMAT_VERSION,
        "dtype": tokens.dtype.name,
        "n_tokens": len(tokens),
        "n_files": len(paths),
        "n_bytes": total,
        "key": key,
    }
    # The metadata's presence marks a complete token file, so it is written last.
    with atomic_replace(meta) as tmp:
        tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return tokens


def _open_cached(data: Path, meta: Path, dtype: np.dtype, key: str):
    """The cached token file if its metadata, dtype and length all agree."""
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if info.get("key") != key or info.get("dtype") != dtype.name:
            return None
        return read_tokens(data, dtype=dtype, n_tokens=int(info["n_tokens"]))
    except (ValueError, KeyError, TypeError, OSError):
        return None


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash that changes when the tokenizer's ids would change.

    Built from the vocabulary size, the ids of a fixed probe text, and (for BPE)
    the merge list and special tokens, so it works for any object with ``encode``.
    """
    digest = hashlib.sha256(f"vocab={tokenizer.vocab_size}".encode())
    digest.update(repr(list(tokenizer.encode(_PROBE))).encode())
    for name in ("merges", "special_tokens", "pattern"):
        if hasattr(tokenizer, name):
            digest.update(f"{name}={getattr(tokenizer, name)!r}".encode())
    return digest.hexdigest()


def _encode_document(document: str | Path, tokenizer, bar) -> Iterator[list[int]]:
    """Ids of one document (a string or a file path), in blocks of at most _BLOCK."""
    if isinstance(document, str):
        bar.update(len(document.encode("utf-8")))
        yield list(tokenizer.encode(document))
        return
    with open(document, encoding="utf-8", errors="replace") as f:
        if hasattr(tokenizer, "encode_iterable"):
            ids = iter(tokenizer.encode_iterable(f))  # streamed line by line
            while chunk := list(islice(ids, _BLOCK)):
                yield chunk
        else:
            yield list(tokenizer.encode(f.read()))
    bar.update(Path(document).stat().st_size)


def _flush(buffer: list[int], out, dtype: np.dtype, vocab_size: int) -> None:
    """Check ``buffer``'s ids, append them to ``out`` and empty the buffer."""
    if not buffer:
        return
    ids = np.asarray(buffer, dtype=np.int64)
    if ids.min() < 0 or ids.max() >= vocab_size:
        bad = ids[(ids < 0) | (ids >= vocab_size)][:5].tolist()
        raise ValueError(f"token ids {bad} fall outside vocab_size={vocab_size}")
    out.write(ids.astype(dtype).tobytes())
    buffer.clear()


def _cache_key(paths: list[Path], tokenizer, separator_id: int | None) -> str:
    digest = hashlib.sha256(f"v{FORMAT_VERSION} sep={separator_id}".encode())
    digest.update(tokenizer_fingerprint(tokenizer).encode())
    for path in paths:
        content = path.read_bytes()
        digest.update(f"{len(content)}:".encode())
        digest.update(content)
    return digest.hexdigest()
