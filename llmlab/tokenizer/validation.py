"""Checking the description a BPE tokenizer is built from, before it is used.

A ``BPETokenizer`` is the id of each of the 256 bytes, a list of merges
``(left, right, new)``, special tokens ``{name: id}`` and a pre-tokenization
pattern. They arrive from a file a person may have edited, from another library or
from code, so each part is checked for its type and range here, with a message that
names the bad value; :class:`BPETokenizer` then checks that the merges fit together.

Special token ids must leave no big hole in the id range: ``vocab_size`` (the
number of rows of a model's embedding) is one more than the largest id, so an id of
10⁹ would ask for a billion rows. Imported vocabularies leave a few unused ids before
their specials (tiktoken's cl100k_base leaves one), far fewer than ``MAX_ID_GAP``.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import regex

MAX_ID_GAP = 1024
"""Most unused ids allowed below the largest special token id."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_pattern(pattern: str) -> regex.Pattern:
    """The compiled pre-tokenization pattern; it must be able to cut text into
    non-empty pieces."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(
            f"the pre-tokenization pattern must be a non-empty regex, got {pattern!r}"
        )
    try:
        compiled = regex.compile(pattern)
    except regex.error as error:
        raise ValueError(f"pattern {pattern!r} is not a valid regex: {error}") from None
    if compiled.fullmatch("") is not None:
        raise ValueError(
            f"pattern {pattern!r} matches the empty string, so it can not cut text "
            "into pieces"
        )
    return compiled


def check_description(
    byte_ids: list[int], merges: list, special_tokens: dict[str, int]
) -> None:
    """Types and ranges of byte ids, merges and special tokens."""
    if not isinstance(byte_ids, (list, tuple)) or not all(map(_is_int, byte_ids)):
        raise ValueError(f"byte_ids must be a list of 256 ints, got {byte_ids!r:.80}")
    if sorted(byte_ids) != list(range(256)):
        raise ValueError("byte_ids must be a permutation of 0..255")
    for k, merge in enumerate(merges):
        ok = isinstance(merge, (list, tuple)) and len(merge) == 3
        if not ok or not all(map(_is_int, merge)):
            raise ValueError(
                f"merge {k} must be three ints [left, right, new], got {merge!r}"
            )
    if not isinstance(special_tokens, dict):
        raise ValueError(
            f"special_tokens must be a dict {{name: id}}, got {special_tokens!r:.80}"
        )
    limit = 256 + len(merges) + len(special_tokens) + MAX_ID_GAP
    for name, i in special_tokens.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"special token names must be non-empty str, got {name!r}")
        if not _is_int(i) or not 0 <= i < limit:
            raise ValueError(
                f"special token {name!r} has id {i!r}; ids are ints from 0 to "
                f"{limit - 1} (the tokens, plus at most {MAX_ID_GAP} unused ids)"
            )
