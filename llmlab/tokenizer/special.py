"""Special tokens: names that are never split or merged, and tiktoken's rules for them.

A special token such as ``<|endoftext|>`` marks structure (the end of a document)
and has one id of its own. Text that merely *looks* like one must not smuggle it in:
by default, finding a special token's text in the input raises, unless the caller
allows it (it becomes the id) or disallows nothing (it is encoded as plain text).

Differs from tiktoken in: an unknown name in ``allowed_special`` is an error rather
than ignored.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

from collections.abc import Iterable

import regex


def validate_names(names: Iterable[str]) -> None:
    """Special tokens must be distinct non-empty strings."""
    names = list(names)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"special tokens must be non-empty str, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"special tokens repeat: {names}")


def _as_set(value: str | Iterable[str], every: frozenset[str], label: str) -> frozenset:
    if value == "all":
        return every
    if isinstance(value, str):
        raise TypeError(f"{label} must be 'all' or a set of str, got {value!r}")
    names = frozenset(value)
    unknown = names - every
    if unknown:
        raise ValueError(
            f"{label} names unknown special tokens {sorted(unknown)}; "
            f"known: {sorted(every)}"
        )
    return names


def resolve(
    special_tokens: dict[str, int],
    allowed_special: str | Iterable[str],
    disallowed_special: str | Iterable[str],
) -> tuple[frozenset[str], frozenset[str]]:
    """(allowed, disallowed) sets of special tokens, tiktoken style.

    ``"all"`` means every special token; ``disallowed_special="all"`` means every
    special token that is not allowed.
    """
    every = frozenset(special_tokens)
    allowed = _as_set(allowed_special, every, "allowed_special")
    if disallowed_special == "all":
        return allowed, every - allowed
    return allowed, _as_set(disallowed_special, every, "disallowed_special")


def raise_if_present(text: str, disallowed: regex.Pattern, offset: int = 0) -> None:
    """Raise ``ValueError`` naming the first disallowed special token in ``text``;
    ``offset`` is where ``text`` starts in the whole text (for streaming)."""
    match = disallowed.search(text)
    if match is not None:
        raise ValueError(
            f"text contains the special token {match.group()!r} at index "
            f"{offset + match.start()}, which is disallowed. Pass allowed_special="
            f"{{{match.group()!r}}} to encode it as a special token, or "
            "disallowed_special=() to encode it as ordinary text."
        )
