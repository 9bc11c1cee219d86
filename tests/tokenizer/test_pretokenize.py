"""Pre-tokenization: GPT-2's pattern, safe cut points, specials, counting."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlab.tokenizer import GPT2_PATTERN
from llmlab.tokenizer.pretokenize import (
    count_pieces,
    safe_cut,
    special_regex,
    split,
    split_for_workers,
)

# tiktoken's patterns for gpt2 (equivalent, faster) and cl100k_base, copied as text
# so that no download is needed.
TIKTOKEN_GPT2 = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$"""
    r"""|\s+(?!\S)|\s"""
)
CL100K = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
    r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

texty = st.lists(st.sampled_from([*"ab1 \n\t.'sé漢🐍", "<|x|>", "<|x y|>"])).map(
    "".join
)


def test_gpt2_pattern_splits_words_digits_punctuation_whitespace() -> None:
    pieces = regex.findall(GPT2_PATTERN, "Hello world's 2024!!  \n\tok")
    assert pieces == ["Hello", " world", "'s", " 2024", "!!", "  \n", "\t", "ok"]


@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_gpt2_pattern_equals_tiktokens(text) -> None:
    assert regex.findall(GPT2_PATTERN, text) == regex.findall(TIKTOKEN_GPT2, text)


@settings(max_examples=1000, deadline=None)
@given(texty, st.integers(0, 60))
def test_safe_cut_does_not_change_the_pieces(text, end) -> None:
    cut = safe_cut(text, end, ["<|x y|>"])
    assert 0 <= cut <= max(0, min(end, len(text) - 1))
    if cut == 0:
        return
    assert text[cut] == " " and text[cut - 1].isalnum()
    assert "<|x y|>" not in text or text[:cut].count("<|x y|>") + text[cut:].count(
        "<|x y|>"
    ) == text.count("<|x y|>")
    for pattern in (GPT2_PATTERN, CL100K):
        whole = regex.findall(pattern, text)
        halves = regex.findall(pattern, text[:cut]) + regex.findall(pattern, text[cut:])
        assert halves == whole


def test_safe_cut_skips_specials_and_finds_none_without_spaces() -> None:
    assert safe_cut("ab cd", 4) == 2
    assert safe_cut("abcd", 4) == 0
    assert safe_cut("a.  b", 4) == 0  # only a space right after a letter or digit
    assert safe_cut("x <|a b|>", 8, ["<|a b|>"]) == 1
    assert safe_cut("x <|a b|>", 8) == 5


def test_special_regex_longest_wins() -> None:
    pattern = special_regex(["<|a|>", "<|a|><|b|>", "<|b|>"])
    assert pattern.findall("<|a|><|b|><|a|>") == ["<|a|><|b|>", "<|a|>"]
    assert special_regex([]) is None


def test_split_for_workers_keeps_every_character() -> None:
    text = "word " * 10_000 + "x" * 5000
    chunks = split_for_workers(text, 7, ())
    assert "".join(chunks) == text
    assert len(chunks) >= 7
    assert split_for_workers("nospaces" * 100, 3, ()) == ["nospaces" * 100]


def test_count_pieces_removes_specials() -> None:
    counts = count_pieces(
        ["ab ab<|endoftext|>ab"], pattern=GPT2_PATTERN, specials=("<|endoftext|>",)
    )
    assert counts == {"ab": 2, " ab": 1}


def test_copied_pattern_is_tiktokens(tiktoken_gpt2) -> None:
    assert tiktoken_gpt2._pat_str == TIKTOKEN_GPT2


def test_a_pattern_that_does_not_cover_the_text_raises() -> None:
    """Issue 14 item 12: characters no piece matches are an error, never dropped."""
    from llmlab.tokenizer import BPETokenizer

    tok = BPETokenizer(
        byte_ids=list(range(256)),
        merges=[],
        special_tokens={"<|x|>": 256},
        pattern=r"\p{L}+",
    )
    with pytest.raises(ValueError, match="', ' at index 5 matches no piece"):
        tok.encode("hello, world! 42")
    with pytest.raises(ValueError, match="', ' at index 5 matches no piece"):
        tok.encode_ordinary("hello, world! 42")
    with pytest.raises(ValueError, match="' ' at index 10 matches no piece"):
        tok.encode("<|x|>hello world", allowed_special="all")  # whole-text index
    assert tok.decode(tok.encode("<|x|>hello", allowed_special="all")) == "<|x|>hello"


def test_split_returns_the_pieces_of_covered_text() -> None:
    compiled = regex.compile(GPT2_PATTERN)
    assert split(compiled, "Hi there!") == ["Hi", " there", "!"]
    assert split(compiled, "") == []
    with pytest.raises(ValueError, match="'--' at index 12 matches no piece"):
        split(regex.compile(r"\w+"), "ab--c", offset=10)
    with pytest.raises(ValueError, match="has capturing groups"):
        split(regex.compile(r"(a)b|\s+"), "ab ab")


def test_training_with_a_pattern_that_does_not_cover_the_text_raises() -> None:
    from llmlab.tokenizer import BPETokenizer

    with pytest.raises(ValueError, match="does not cover the text: 6 of 16 char"):
        BPETokenizer.train("hello, world! 42", vocab_size=260, pattern=r"\p{L}+")
    assert count_pieces(["ab, c"], pattern=r"\w+|\W+") == {"ab": 1, ", ": 1, "c": 1}
