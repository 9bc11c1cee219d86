"""Special tokens: tiktoken's allowed/disallowed rules, overlaps, edges of the text."""

from __future__ import annotations

import pytest

from llmlab.tokenizer import BPETokenizer

EOT = "<|endoftext|>"

CASES = [
    EOT,
    f"{EOT}starts the text",
    f"ends the text{EOT}",
    f"a{EOT}{EOT}b",
    "no special here, only <|endof text|> and <|endoftext",
    f" {EOT} \n{EOT}\n",
]


@pytest.mark.parametrize("text", CASES)
def test_allowed_special_matches_tiktoken(gpt2, tiktoken_gpt2, text) -> None:
    want = tiktoken_gpt2.encode(text, allowed_special="all")
    assert gpt2.encode(text, allowed_special="all") == want
    assert gpt2.encode(text, allowed_special={EOT}) == want
    assert gpt2.decode(want) == text


@pytest.mark.parametrize("text", CASES)
def test_special_text_as_ordinary_text_matches_tiktoken(gpt2, tiktoken_gpt2, text):
    want = tiktoken_gpt2.encode(text, disallowed_special=())
    assert gpt2.encode(text, disallowed_special=()) == want
    assert 50256 not in want


@pytest.mark.parametrize("text", [t for t in CASES if EOT in t])
def test_disallowed_special_raises_like_tiktoken(gpt2, tiktoken_gpt2, text) -> None:
    with pytest.raises(ValueError):
        tiktoken_gpt2.encode(text)
    with pytest.raises(ValueError, match=r"special token '<\|endoftext\|>' at index"):
        gpt2.encode(text)
    with pytest.raises(ValueError, match="disallowed"):
        gpt2.encode(text, allowed_special=set(), disallowed_special={EOT})


@pytest.fixture(scope="module")
def overlapping() -> BPETokenizer:
    specials = {"<|end|>": 300, "<|endoftext|>": 301, "<|end|><|user|>": 302}
    merges = [(ord("e"), ord("n"), 256)]
    return BPETokenizer(
        byte_ids=list(range(256)), merges=merges, special_tokens=specials
    )


def test_overlapping_specials_longest_match_wins(overlapping) -> None:
    assert overlapping.encode("<|endoftext|>", allowed_special="all") == [301]
    assert overlapping.encode("<|end|><|user|>", allowed_special="all") == [302]
    assert overlapping.encode("<|end|><|end|>", allowed_special="all") == [300, 300]
    # Only the shorter one allowed: the longer one's text is not disallowed either.
    ids = overlapping.encode(
        "<|endoftext|>", allowed_special={"<|end|>"}, disallowed_special=()
    )
    assert 300 not in ids and overlapping.decode(ids) == "<|endoftext|>"


def test_unknown_special_names_are_errors(gpt2) -> None:
    with pytest.raises(ValueError, match="unknown special tokens"):
        gpt2.encode("hi", allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="unknown special tokens"):
        gpt2.encode("hi", disallowed_special={"<|nope|>"})
    with pytest.raises(TypeError, match="'everything'"):
        gpt2.encode("hi", allowed_special="everything")


def test_eot_id_missing() -> None:
    tok = BPETokenizer(byte_ids=list(range(256)), merges=[], special_tokens={})
    with pytest.raises(KeyError, match="endoftext"):
        tok.eot_id
