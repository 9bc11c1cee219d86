"""Vocabulary {id: bytes} + merges [(bytes, bytes)], and GPT-2 / HF files, both ways."""

from __future__ import annotations

import json

import pytest

from llmlab.tokenizer import BPETokenizer

BYTES = {b: bytes([b]) for b in range(256)}


def _same(a: BPETokenizer, b: BPETokenizer) -> None:
    assert a.byte_ids == b.byte_ids
    assert a.merges == b.merges
    assert a.special_tokens == b.special_tokens
    assert a.pattern == b.pattern


def test_hand_worked_vocabulary() -> None:
    vocab = BYTES | {256: b"ab", 257: b"abc", 258: b"<|eot|>"}
    tok = BPETokenizer.from_vocab_and_merges(vocab, [(b"a", b"b"), (b"ab", b"c")])
    assert tok.special_tokens == {"<|eot|>": 258}  # neither a byte nor a merge
    assert tok.merges == [(97, 98, 256), (256, 99, 257)]
    assert tok.encode("abcab<|eot|>", allowed_special="all") == [257, 256, 258]
    assert tok.to_vocab_and_merges() == (vocab, [(b"a", b"b"), (b"ab", b"c")])


def test_special_tokens_by_name_take_free_ids() -> None:
    vocab = BYTES | {256: b"<s>"}
    tok = BPETokenizer.from_vocab_and_merges(vocab, [], special_tokens=["<s>", "</s>"])
    assert tok.special_tokens == {"<s>": 256, "</s>": 257}


def test_gpt2_round_trip_through_vocab_and_merges(gpt2, stdlib_text) -> None:
    vocab, merges = gpt2.to_vocab_and_merges()
    assert vocab[15496] == b"Hello" and vocab[50256] == b"<|endoftext|>"
    assert merges[0] == (b" ", b"t") and len(merges) == 50_000
    back = BPETokenizer.from_vocab_and_merges(vocab, merges)
    _same(back, gpt2)
    text = stdlib_text[:200_000] + "<|endoftext|> naïve 漢字 🐍"
    want = gpt2.encode(text, allowed_special="all")
    assert back.encode(text, allowed_special="all") == want


def test_trained_round_trip_keeps_pattern_and_specials(trained, stdlib_text) -> None:
    vocab, merges = trained.to_vocab_and_merges()
    back = BPETokenizer.from_vocab_and_merges(
        vocab, merges, pattern=trained.pattern, special_tokens=trained.special_tokens
    )
    _same(back, trained)
    text = stdlib_text[-50_000:]
    assert back.encode(text, disallowed_special=()) == trained.encode(
        text, disallowed_special=()
    )


def test_written_gpt2_files_equal_the_published_ones(gpt2, gpt2_dir, tmp_path):
    gpt2.save_gpt2_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    original = json.loads((gpt2_dir / "encoder.json").read_text(encoding="utf-8"))
    assert json.loads((tmp_path / "vocab.json").read_text("utf-8")) == original
    lines = (gpt2_dir / "vocab.bpe").read_text(encoding="utf-8").splitlines()
    assert (tmp_path / "merges.txt").read_text("utf-8").splitlines() == [
        line for line in lines if line
    ]
    back = BPETokenizer.from_gpt2_files(
        tmp_path / "vocab.json", tmp_path / "merges.txt"
    )
    _same(back, gpt2)


def test_written_files_give_huggingface_the_same_ids(trained, tmp_path, stdlib_text):
    """Hugging Face's own GPT-2 tokenizer, reading our files, is the oracle."""
    transformers = pytest.importorskip("transformers")
    trained.save_gpt2_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    hf = transformers.GPT2Tokenizer.from_pretrained(str(tmp_path))  # a local folder
    text = stdlib_text[:30_000] + " naïve 漢字 🐍 ünïcödé"
    assert hf(text)["input_ids"] == trained.encode(text, disallowed_special=())


BAD = {
    "a byte missing": (
        {b: bytes([b]) for b in range(255)},
        [],
        "lacks the single bytes \\[255\\]",
    ),
    "merge of unknown token": (BYTES, [(b"a", b"b")], "b'ab' is not in vocab"),
    "not a pair": (BYTES | {256: b"ab"}, [(b"a",)], "must be a pair"),
    "str instead of bytes": (BYTES | {256: "ab"}, [], "must be non-empty bytes"),
    "negative id": (BYTES | {-1: b"ab"}, [], "non-negative ints"),
    "duplicate byte": (BYTES | {256: b"a"}, [], "appears twice"),
    "unmade non-UTF-8 token": (BYTES | {256: b"\xff\xfe"}, [], "not UTF-8 text"),
}


@pytest.mark.parametrize("vocab, merges, match", BAD.values(), ids=BAD.keys())
def test_bad_vocabularies_are_rejected(vocab, merges, match) -> None:
    with pytest.raises(ValueError, match=match):
        BPETokenizer.from_vocab_and_merges(vocab, merges)


@pytest.mark.parametrize(
    "special_tokens, match",
    [
        ({"<s>": 256}, r"vocab\[257\] = b'<t>' is neither a byte"),
        (["<s>"], r"vocab\[257\] = b'<t>' is neither a byte"),
        ({"<s>": 257, "<t>": 256}, r"'<s>' has id 257, but vocab\[257\] = b'<t>'"),
    ],
)
def test_vocabulary_entries_are_never_dropped(special_tokens, match) -> None:
    vocab = BYTES | {256: b"<s>", 257: b"<t>"}
    with pytest.raises(ValueError, match=match):
        BPETokenizer.from_vocab_and_merges(vocab, [], special_tokens=special_tokens)
