"""A BPE tokenizer as a vocabulary ``{id: bytes}`` plus merges ``[(bytes, bytes)]``.

That is the form other courses and Hugging Face's ``vocab.json`` + ``merges.txt``
use: the vocabulary gives every token's bytes, and the merges list the pairs of
tokens that were joined, in the order they were learned. This module converts it
to and from the description ``BPETokenizer`` is built from (the id of each byte,
merges as ids ``(left, right, new)``, special tokens), and writes it as GPT-2 /
Hugging Face files, whose printable-character form is the one :mod:`gpt2_files`
reads.

Neither form stores the pre-tokenization pattern; whoever reads them back passes
it (GPT-2's pattern is the default).

Differs from Hugging Face ``tokenizers`` in: merge priority and id must agree (a
merge learned later makes a larger id), which holds for every vocabulary BPE
training produces, GPT-2's included.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from llmlab.tokenizer.gpt2_files import Merge, bytes_to_unicode
from llmlab.utils.atomic import atomic_replace

Vocab = dict[int, bytes]
BytePairs = list[tuple[bytes, bytes]]


def _check_vocab(vocab: Vocab) -> None:
    if not isinstance(vocab, dict):
        raise TypeError(f"vocab must be a dict {{id: bytes}}, got {type(vocab)}")
    for i, token in vocab.items():
        if not isinstance(i, int) or isinstance(i, bool) or i < 0:
            raise ValueError(f"vocab ids must be non-negative ints, got {i!r}")
        if not isinstance(token, bytes) or not token:
            raise ValueError(f"vocab[{i}] must be non-empty bytes, got {token!r}")


def _special_ids(
    vocab: Vocab, made: set[int], special_tokens: Iterable[str] | dict | None
) -> dict[str, int]:
    """Special tokens by id; ``None``: every vocab entry no merge or byte makes."""
    if isinstance(special_tokens, dict):
        return dict(special_tokens)
    if special_tokens is None:
        found = {}
        for i in sorted(set(vocab) - made):
            try:
                found[vocab[i].decode("utf-8")] = i
            except UnicodeDecodeError:
                raise ValueError(
                    f"vocab[{i}] = {vocab[i]!r} is neither a byte nor made by a "
                    "merge, and is not UTF-8 text, so it can not be a special token"
                ) from None
        return found
    found, next_id = {}, max(vocab, default=-1) + 1
    by_bytes = {vocab[i]: i for i in set(vocab) - made}
    for name in special_tokens:
        if name.encode("utf-8") in by_bytes:
            found[name] = by_bytes[name.encode("utf-8")]
        else:  # not in the vocabulary yet: it takes the next free id
            found[name], next_id = next_id, next_id + 1
    return found


def fields_from_vocab_and_merges(
    vocab: Vocab,
    merges: BytePairs,
    special_tokens: Iterable[str] | dict[str, int] | None = None,
) -> tuple[list[int], list[Merge], dict[str, int]]:
    """(byte ids, merges as ids, special tokens) from ``{id: bytes}`` + byte pairs.

    ``special_tokens``: a dict ``{name: id}``; names (found in ``vocab`` by their
    UTF-8 bytes, or else given the next free ids); or ``None``, meaning every
    vocabulary entry that is neither a single byte nor made by a merge.
    """
    _check_vocab(vocab)
    given = set(special_tokens.values()) if isinstance(special_tokens, dict) else set()
    ordinary: dict[bytes, int] = {}
    for i in sorted(set(vocab) - given):
        token = vocab[i]
        if token in ordinary and (len(token) == 1 or special_tokens is None):
            raise ValueError(
                f"{token!r} appears twice in vocab, as ids {ordinary[token]} and {i}"
            )
        ordinary.setdefault(token, i)
    missing = [b for b in range(256) if bytes([b]) not in ordinary]
    if missing:
        raise ValueError(f"vocab lacks the single bytes {missing[:10]}; all 256 needed")
    byte_ids = [ordinary[bytes([b])] for b in range(256)]
    ids: list[Merge] = []
    for k, pair in enumerate(merges):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"merges[{k}] must be a pair (bytes, bytes), got {pair!r}")
        left, right = pair
        for part in (left, right, left + right):
            if part not in ordinary:
                raise ValueError(f"merges[{k}] = {pair!r}: {part!r} is not in vocab")
        ids.append((ordinary[left], ordinary[right], ordinary[left + right]))
    made = set(byte_ids) | {new for _, _, new in ids}
    specials = _special_ids(vocab, made, special_tokens)
    _check_specials_fit(vocab, made, specials)
    return byte_ids, ids, specials


def _check_specials_fit(vocab: Vocab, made: set[int], specials: dict) -> None:
    """Every vocab entry is a byte, a merge or a special token with its own text."""
    for name, i in specials.items():
        if i in vocab and vocab[i] != name.encode("utf-8"):
            raise ValueError(
                f"special token {name!r} has id {i}, but vocab[{i}] = {vocab[i]!r}"
            )
    left = sorted(set(vocab) - made - set(specials.values()))
    if left:
        raise ValueError(
            f"vocab[{left[0]}] = {vocab[left[0]]!r} is neither a byte, nor made by a "
            "merge, nor a special token; it would be lost"
        )


def vocab_and_merges(tokenizer) -> tuple[Vocab, BytePairs]:
    """``({id: bytes}, [(bytes, bytes)])`` of a ``BPETokenizer``; specials included
    in the vocabulary as their UTF-8 bytes."""
    vocab = dict(sorted(tokenizer.vocab.items()))
    pairs = [(vocab[a], vocab[b]) for a, b, _ in tokenizer.merges]
    return vocab, pairs


def save_gpt2_files(
    tokenizer, vocab_json_path: str | Path, merges_txt_path: str | Path
) -> None:
    """Write GPT-2's ``encoder.json`` / Hugging Face's ``vocab.json`` (token -> id)
    and ``vocab.bpe`` / ``merges.txt`` (one merge a line), atomically.

    Tokens are written through GPT-2's byte -> printable character table; special
    tokens keep their own text. The pre-tokenization pattern is not stored.
    """
    table = bytes_to_unicode()
    specials = set(tokenizer.special_tokens.values())

    def text(i: int) -> str:
        token = tokenizer.vocab[i]
        return (
            token.decode("utf-8") if i in specials else "".join(table[b] for b in token)
        )

    encoder = {text(i): i for i in sorted(tokenizer.vocab)}
    if len(encoder) != len(tokenizer.vocab):
        raise ValueError("a special token has the text of another token; not writable")
    lines = [f"{text(a)} {text(b)}" for a, b, _ in tokenizer.merges]
    with atomic_replace(vocab_json_path) as tmp:
        tmp.write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    with atomic_replace(merges_txt_path) as tmp:
        tmp.write_text("#version: 0.2\n" + "\n".join(lines) + "\n", encoding="utf-8")
