"""Streaming text: turn token ids into text as they arrive, never splitting a
character.

A byte-level tokenizer's token can end in the middle of a multi-byte UTF-8
character ("é" is two bytes, an emoji four). Decoding each token on its own would
print replacement characters; ``TextStream`` keeps the incomplete bytes until the
character is complete, so the pieces it yields join to exactly ``tokenizer.decode``
of all the ids.

Taught in: chapters/07_sampling.ipynb
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator


def token_bytes(tokenizer, ids: list[int]) -> bytes:
    """The bytes of ``ids``: ``tokenizer.decode_bytes`` when it has one (BPE), else
    the ids are bytes themselves (the byte tokenizer)."""
    decode_bytes = getattr(tokenizer, "decode_bytes", None)
    if decode_bytes is not None:
        return decode_bytes(ids)
    bad = [i for i in ids if not 0 <= i < 256]
    if bad:
        raise ValueError(f"byte ids must be in 0..255, got {bad[:5]}")
    return bytes(ids)


class TextStream:
    """Feed ids with ``push``; get back the text completed so far.

    >>> stream = TextStream(ByteTokenizer())
    >>> stream.push([0xC3]), stream.push([0xA9]), stream.flush()
    ('', 'é', '')
    """

    def __init__(self, tokenizer, *, errors: str = "replace") -> None:
        self.tokenizer = tokenizer
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)

    def push(self, ids: Iterable[int]) -> str:
        """Text of every character completed by these ids (may be empty)."""
        return self._decoder.decode(token_bytes(self.tokenizer, [int(i) for i in ids]))

    def flush(self) -> str:
        """Text of bytes still pending at the end (replacement characters if the
        ids stopped inside a character)."""
        return self._decoder.decode(b"", final=True)


def stream_text(tokenizer, ids: Iterable[int]) -> Iterator[str]:
    """Yield the text of ``ids`` piece by piece, one push per id (empty pieces
    skipped); ``"".join`` of the pieces equals ``tokenizer.decode(list(ids))``."""
    stream = TextStream(tokenizer)
    for i in ids:
        piece = stream.push([i])
        if piece:
            yield piece
    tail = stream.flush()
    if tail:
        yield tail
