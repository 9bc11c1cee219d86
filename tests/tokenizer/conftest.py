"""Fixtures for the tokenizer tests: GPT-2's files, tiktoken's gpt2 offline, corpora.

GPT-2's ``encoder.json`` and ``vocab.bpe`` are read from ``$LLMLAB_GPT2_DIR``, or
else from ``<repo>/../shared/data/gpt2``. CI has them; when they are missing the
GPT-2 tests fail (they do not skip), saying where the files were looked for.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from llmlab.tokenizer import BPETokenizer

REPO = Path(__file__).resolve().parents[2]

# tiktoken looks for a download in $TIKTOKEN_CACHE_DIR under the sha1 of its URL.
TIKTOKEN_CACHE_NAMES = {
    "encoder.json": "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6",
    "vocab.bpe": "6d1cbeee0f20b3d9449abfede4726ed8212e3aee",
}


@pytest.fixture(scope="session")
def gpt2_dir() -> Path:
    folder = Path(os.environ.get("LLMLAB_GPT2_DIR", REPO.parent / "shared/data/gpt2"))
    missing = [n for n in TIKTOKEN_CACHE_NAMES if not (folder / n).is_file()]
    if missing:
        pytest.fail(
            f"GPT-2 tokenizer files {missing} not found in {folder}. Put OpenAI's "
            "encoder.json and vocab.bpe there, or set LLMLAB_GPT2_DIR to their folder."
        )
    return folder


@pytest.fixture(scope="session")
def tiktoken_gpt2(gpt2_dir, tmp_path_factory):
    """tiktoken's own ``gpt2`` encoding, loaded offline from ``gpt2_dir``."""
    import tiktoken

    cache = tmp_path_factory.mktemp("tiktoken_cache")
    for name, cache_name in TIKTOKEN_CACHE_NAMES.items():
        shutil.copy(gpt2_dir / name, cache / cache_name)
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        return tiktoken.get_encoding("gpt2")
    finally:
        if before is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def gpt2(gpt2_dir) -> BPETokenizer:
    return BPETokenizer.from_gpt2_files(
        gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe"
    )


@pytest.fixture(scope="session")
def stdlib_text() -> str:
    """About 1 MB of the Python standard library's source."""
    from llmlab.data import read_text, stdlib_files

    return read_text(stdlib_files(), max_bytes=1_000_000)


@pytest.fixture(scope="session")
def trained(stdlib_text) -> BPETokenizer:
    """A small tokenizer trained on 200 kB of the standard library."""
    return BPETokenizer.train(stdlib_text[:200_000], vocab_size=1000, n_workers=1)
