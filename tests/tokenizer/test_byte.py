"""ByteTokenizer: one id per UTF-8 byte."""

from __future__ import annotations

import pytest

from llmlab.tokenizer import ByteTokenizer


def test_round_trip_and_split_character() -> None:
    tok = ByteTokenizer()
    assert tok.encode("hi") == [104, 105]
    assert tok.decode(tok.encode("é🐍")) == "é🐍"
    assert tok.decode(tok.encode("🐍")[:2]) == "\ufffd"
    with pytest.raises(ValueError, match="256"):
        tok.decode([256])
    with pytest.raises(TypeError, match="bytes"):
        tok.encode(b"hi")
