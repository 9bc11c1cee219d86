"""The byte tokenizer: every UTF-8 byte is a token, ids 0..255.

This is where byte-level BPE starts before it learns any merge: any string can be
encoded, nothing is ever out of vocabulary, but sequences are long.

Taught in: chapters/00_overview.ipynb, chapters/01_tokenization.ipynb
"""

from __future__ import annotations

from collections.abc import Iterable

from llmlab.tokenizer.ids import as_id_list


class ByteTokenizer:
    """Text <-> UTF-8 bytes. ``"hi" -> [104, 105]``."""

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        return list(text.encode("utf-8"))

    def decode(self, ids: Iterable[int], *, errors: str = "replace") -> str:
        """Bytes back to text; a split UTF-8 character becomes U+FFFD unless
        ``errors="strict"``. ``ids``: ints, or a 1-D integer tensor or array."""
        ids = as_id_list(ids)
        bad = [i for i in ids if not 0 <= i < 256]
        if bad:
            raise ValueError(f"byte ids must be in 0..255, got {bad[:5]}")
        return bytes(ids).decode("utf-8", errors=errors)
