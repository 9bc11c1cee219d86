"""GPT-2's published files and tiktoken ranks tables, read into ids and merges."""

from __future__ import annotations

import pytest

from llmlab.tokenizer.gpt2_files import (
    bytes_to_unicode,
    merges_from_ranks,
    read_gpt2_files,
)


def test_bytes_to_unicode_is_printable_and_one_to_one() -> None:
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"
    assert all(ch.isprintable() and not ch.isspace() for ch in table.values())


def test_read_gpt2_files(gpt2_dir) -> None:
    byte_ids, merges, specials = read_gpt2_files(
        gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe"
    )
    assert sorted(byte_ids) == list(range(256))
    assert byte_ids[ord("!")] == 0  # GPT-2 numbers printable bytes first
    assert len(merges) == 50_000
    assert [new for _, _, new in merges] == list(range(256, 50_256))
    assert merges[0] == (byte_ids[ord(" ")], byte_ids[ord("t")], 256)  # "Ġ t"
    assert specials == {"<|endoftext|>": 50256}


def test_merges_from_tiktoken_ranks(gpt2_dir, tiktoken_gpt2) -> None:
    byte_ids, merges, _ = read_gpt2_files(
        gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe"
    )
    assert merges_from_ranks(tiktoken_gpt2._mergeable_ranks) == (byte_ids, merges)


def test_bad_ranks_tables() -> None:
    ranks = {bytes([b]): b for b in range(255)}
    with pytest.raises(ValueError, match="255 single bytes"):
        merges_from_ranks(ranks)
    ranks = {bytes([b]): b for b in range(256)} | {b"abc": 256}
    with pytest.raises(ValueError, match="b'abc'"):
        merges_from_ranks(ranks)


def test_bad_vocab_bpe_line(tmp_path, gpt2_dir) -> None:
    bad = tmp_path / "vocab.bpe"
    bad.write_text("#version: 0.2\nĠ t\nnot a merge line\n", encoding="utf-8")
    with pytest.raises(ValueError, match="3: not a merge"):
        read_gpt2_files(gpt2_dir / "encoder.json", bad)


def test_files_that_do_not_fit_name_file_and_line(tmp_path, gpt2_dir) -> None:
    encoder = gpt2_dir / "encoder.json"
    merges = tmp_path / "vocab.bpe"
    merges.write_text("#version: 0.2\nĠ t\nĠ zzzq\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.bpe:3: 'zzzq' is not in .*encoder"):
        read_gpt2_files(encoder, merges)
    broken = tmp_path / "encoder.json"
    broken.write_text('{"!": 0, "a"', encoding="utf-8")
    with pytest.raises(ValueError, match="encoder.json: not valid JSON"):
        read_gpt2_files(broken, merges)
    broken.write_text('{"!": 0}', encoding="utf-8")
    with pytest.raises(ValueError, match="encoder.json lacks the byte tokens"):
        read_gpt2_files(broken, merges)
