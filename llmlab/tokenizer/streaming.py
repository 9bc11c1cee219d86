"""Streaming encoding: ids of a text that arrives in chunks (a file, a socket).

The ids must be exactly those of encoding the whole text at once, errors included.
Text is gathered until about ``CHUNK`` characters have arrived, then encoded up to
the last *safe cut point* (see ``pretokenize.safe_cut``); the rest waits for more.
Two things make a cut unsafe besides the pre-tokenization pattern:

- a special token that is still arriving: ``"<|im start|>"`` contains a space, and
  while only ``"<|im start"`` has arrived the buffer does not show that the space
  is inside a special token. So no cut is made within the longest special token's
  length of the buffer's end; every special token around a cut is then complete.
- error positions: a disallowed special token or a pattern that does not cover the
  text is reported at its index in the whole text, as whole-text encoding does.

Differs from tiktoken in: tiktoken has no streaming encoder.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from llmlab.tokenizer.pretokenize import safe_cut

CHUNK = 1 << 16
"""Characters gathered before looking for a cut point."""

EncodeAt = Callable[[str, int], list[int]]
"""``encode_at(text, offset)``: ids of ``text``, which starts at ``offset``."""


def encode_stream(
    chunks: Iterable[str], encode_at: EncodeAt, specials: Iterable[str]
) -> Iterator[int]:
    """Ids of ``"".join(chunks)``, produced as the chunks arrive.

    Memory is bounded by the buffer, or by the longest stretch of text without a
    cut point if that is longer.
    """
    specials = tuple(specials)
    margin = max(map(len, specials), default=1)
    parts: list[str] = []
    size, wanted, offset = 0, CHUNK, 0
    for chunk in chunks:
        if not isinstance(chunk, str):
            raise TypeError(f"encode_iterable got {type(chunk).__name__}, not str")
        parts.append(chunk)
        size += len(chunk)
        if size < wanted:
            continue
        buffer = "".join(parts)
        cut = safe_cut(buffer, len(buffer) - margin, specials)
        if cut > 0:
            yield from encode_at(buffer[:cut], offset)
            buffer, offset = buffer[cut:], offset + cut
        # With no cut point, wait for twice as much text before looking again.
        parts, size = [buffer], len(buffer)
        wanted = CHUNK if cut > 0 else 2 * size
    yield from encode_at("".join(parts), offset)
