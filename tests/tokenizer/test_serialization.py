"""Save -> load gives the identical tokenizer, in a file a person can read."""

from __future__ import annotations

import json

import pytest

from llmlab.tokenizer import BPETokenizer


@pytest.mark.parametrize("which", ["trained", "gpt2"])
def test_save_load_identical(request, tmp_path, stdlib_text, which) -> None:
    tok = request.getfixturevalue(which)
    path = tmp_path / "tok.json"
    tok.save(path)
    back = BPETokenizer.load(path)
    assert back.merges == tok.merges
    assert back.byte_ids == tok.byte_ids
    assert back.special_tokens == tok.special_tokens
    assert back.pattern == tok.pattern
    text = stdlib_text[:100_000] + "<|endoftext|> 漢字 🐍"
    assert back.encode(text, allowed_special="all") == tok.encode(
        text, allowed_special="all"
    )


def test_file_is_human_readable(trained, tmp_path) -> None:
    path = tmp_path / "tok.json"
    trained.save(path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "llmlab-bpe"
    assert data["tokens"]["256"] == trained.vocab[256].decode(
        "utf-8", "backslashreplace"
    )
    assert len(text.splitlines()) < 2 * len(trained.merges) + 50  # one merge a line


def test_load_rejects_other_files(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"model": "something else"}', encoding="utf-8")
    with pytest.raises(ValueError, match="not an llmlab-bpe file"):
        BPETokenizer.load(path)
    path.write_text('{"format": "llmlab-bpe", "version": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="version 99"):
        BPETokenizer.load(path)
