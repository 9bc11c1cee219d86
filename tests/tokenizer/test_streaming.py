"""Streaming encoding equals whole-text encoding in every case, errors included
(issue 14, item 13)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlab.tokenizer import BPETokenizer, streaming

SPECIALS = ["<|endoftext|>", "<|im start|>", "<|im start|> x", "a b"]


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    text = "ab ab a b abc 12 12 aa bb <|im start|> x é漢 " * 20
    return BPETokenizer.train(text, vocab_size=268, special_tokens=SPECIALS)


def _outcome(run) -> tuple:
    """(ids,) or (exception type, message): what a call gives, errors included."""
    try:
        return (list(run()),)
    except (ValueError, TypeError) as error:
        return (type(error), str(error))


MODES = {
    "default": {},
    "all allowed": {"allowed_special": "all"},
    "none disallowed": {"disallowed_special": ()},
    "one allowed": {"allowed_special": {"<|im start|>"}},
    "one disallowed": {"disallowed_special": {"a b"}},
}


def _same_as_whole(tok, chunks, **kwargs) -> None:
    whole = _outcome(lambda: tok.encode("".join(chunks), **kwargs))
    assert _outcome(lambda: tok.encode_iterable(chunks, **kwargs)) == whole


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_special_token_with_a_space_split_after_64k_characters(tok, mode) -> None:
    head = "word " * 13_200 + "<|im s"  # a cut point waits inside the special
    assert len(head) > streaming.CHUNK
    chunks = [head, "tart|> and more text <|endoftext|> end"]
    _same_as_whole(tok, chunks, **mode)


def test_split_special_is_its_id_when_allowed_and_an_error_by_default(tok) -> None:
    chunks = ["word " * 13_200 + "<|im s", "tart|> more"]
    ids = list(tok.encode_iterable(chunks, allowed_special="all"))
    assert tok.special_tokens["<|im start|>"] in ids
    with pytest.raises(ValueError, match="'<|im start|>' at index 66000"):
        list(tok.encode_iterable(chunks))


def test_uncovered_text_is_reported_at_its_index_in_the_whole_text() -> None:
    tok = BPETokenizer(
        byte_ids=list(range(256)), merges=[], special_tokens={}, pattern=r"\w+|\s+"
    )
    chunks = ["hello world " * 6_000, "and then!"]
    with pytest.raises(ValueError, match="'!' at index 72008 matches no piece"):
        tok.encode("".join(chunks))
    with pytest.raises(ValueError, match="'!' at index 72008 matches no piece"):
        list(tok.encode_iterable(chunks))


def test_argument_errors_come_even_for_empty_input(tok) -> None:
    with pytest.raises(ValueError, match="unknown special tokens"):
        tok.encode("", allowed_special={"<nope>"})
    with pytest.raises(ValueError, match="unknown special tokens"):
        list(tok.encode_iterable([], allowed_special={"<nope>"}))


PIECES = [
    *"ab1 \n\t.'!é漢",
    "  ",
    "'s",
    "<|",
    "|>",
    "im",
    " start",
    "<|im start|>",
    "<|im start|> x",
    "<|endoftext|>",
    "a b",
    "\ud800",  # a lone surrogate
    "\ud83d",  # with the next one, the surrogate pair of 🐍
    "\udc0d",
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=texts, data=st.data())
def test_streaming_equals_whole_text_for_any_chunking(tok, text, data) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    chunks = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)])]
    mode = data.draw(st.sampled_from(list(MODES.values())))
    before = streaming.CHUNK
    streaming.CHUNK = 4  # look for cut points after a few characters, not 64k
    try:
        _same_as_whole(tok, chunks, **mode)
    finally:
        streaming.CHUNK = before
