from __future__ import annotations

import json

import numpy as np
import pytest

from llmlab.data import token_file
from llmlab.data.token_file import (
    read_tokens,
    token_dtype,
    tokenize_files,
    tokenizer_fingerprint,
    write_tokens,
)
from llmlab.tokenizer import ByteTokenizer


class CountingTokenizer(ByteTokenizer):
    """Bytes, plus an end-of-text id 256, counting how much text it encoded."""

    vocab_size = 257

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, text: str) -> list[int]:
        self.encoded += len(text)
        return super().encode(text)


class StreamingTokenizer(CountingTokenizer):
    def encode_iterable(self, lines):
        for line in lines:
            yield from self.encode(line)


def _files(tmp_path, texts):
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"doc{i}.py"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_written_ids_equal_encode_plus_separators(tmp_path) -> None:
    tok = CountingTokenizer()
    tokens = write_tokens(["ab", "é"], tok, tmp_path / "t.bin", separator_id=256)
    assert tokens.dtype == np.uint16
    assert tokens.tolist() == [97, 98, 256, 195, 169, 256]


def test_streamed_files_in_small_blocks_equal_whole_text(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(token_file, "_BLOCK", 7)  # force many flushes
    texts = ["import os\n" * 5, "x = 1\ny = 2\n", "déjà vu\n"]
    tokens = write_tokens(
        _files(tmp_path, texts),
        StreamingTokenizer(),
        tmp_path / "t.bin",
        separator_id=256,
    )
    want = []
    for text in texts:
        want += list(text.encode("utf-8")) + [256]
    assert tokens.tolist() == want


def test_cache_is_reused_and_invalidated_by_content(tmp_path) -> None:
    paths = _files(tmp_path, ["print('hi')\n", "pass\n"])
    tok = CountingTokenizer()
    first = tokenize_files(paths, tok, cache_dir=tmp_path / "cache", progress=False)
    probe_cost = tok.encoded  # the fingerprint encodes a probe text each call
    tok.encoded = 0
    again = tokenize_files(paths, tok, cache_dir=tmp_path / "cache", progress=False)
    assert tok.encoded == probe_cost - len("print('hi')\npass\n")  # no file re-read
    assert isinstance(again, np.memmap) and again.tolist() == first.tolist()
    paths[1].write_text("pass  \n", encoding="utf-8")
    changed = tokenize_files(paths, tok, cache_dir=tmp_path / "cache", progress=False)
    assert len(changed) == len(first) + 2


def test_dtype_follows_vocabulary_size() -> None:
    assert token_dtype(256) == np.uint16
    assert token_dtype(65_536) == np.uint16
    assert token_dtype(65_537) == np.uint32


def test_out_of_vocabulary_ids_are_rejected(tmp_path) -> None:
    class Liar(ByteTokenizer):
        vocab_size = 100

    with pytest.raises(ValueError, match=r"\[104, 105\].*vocab_size=100"):
        write_tokens(["hi"], Liar(), tmp_path / "t.bin")
    assert not (tmp_path / "t.bin").exists()


def test_read_tokens_rejects_a_torn_file(tmp_path) -> None:
    (tmp_path / "t.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="3 bytes"):
        read_tokens(tmp_path / "t.bin", dtype="uint16")


def test_fingerprint_separates_tokenizers() -> None:
    assert tokenizer_fingerprint(ByteTokenizer()) == tokenizer_fingerprint(
        ByteTokenizer()
    )
    assert tokenizer_fingerprint(ByteTokenizer()) != tokenizer_fingerprint(
        CountingTokenizer()
    )


def test_a_truncated_or_mistyped_cache_is_detected_and_rebuilt(tmp_path) -> None:
    paths = _files(tmp_path, ["print('hi')\n" * 300, "pass\n" * 200])
    tok, cache = CountingTokenizer(), tmp_path / "cache"
    first = tokenize_files(paths, tok, cache_dir=cache, progress=False).tolist()
    (data,) = cache.glob("tokens-*.bin")
    (meta,) = cache.glob("tokens-*.json")
    data.write_bytes(data.read_bytes()[:-2000])  # truncated by 2,000 bytes
    again = tokenize_files(paths, tok, cache_dir=cache, progress=False)
    assert again.tolist() == first
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "dtype": "uint32"}))  # wrong dtype recorded
    assert tokenize_files(paths, tok, cache_dir=cache, progress=False).tolist() == first
    with pytest.raises(ValueError, match=r"metadata says .* \(truncated, or the wrong"):
        read_tokens(data, dtype="uint8", n_tokens=len(first))
