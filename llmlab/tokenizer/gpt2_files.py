"""Reading GPT-2's published vocabulary, and merges back from a tiktoken ranks table.

GPT-2 shipped its tokenizer as two files: ``encoder.json`` (token -> id) and
``vocab.bpe`` (the merges in the order they were learned). Both write bytes as
printable characters through a fixed byte -> character table, so that a token such
as the byte 0x20 (space) shows up as ``"Ġ"``; :func:`bytes_to_unicode` rebuilds that
table. tiktoken keeps the same vocabulary as a ranks table ``{token bytes: id}``
without the merges; :func:`merges_from_ranks` recovers them by encoding each token
with the merges of lower rank, which must leave exactly two parts.

Both return the same description: the id of each of the 256 bytes (GPT-2 does not
give byte ``b`` the id ``b``), the merges ``(left id, right id, new id)`` in rank
order, and the special tokens.

Differs from GPT-2's ``encoder.py`` in: nothing in meaning; we keep ids instead of
strings.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import json
from pathlib import Path

Merge = tuple[int, int, int]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from each byte to a printable character.

    Printable Latin-1 bytes map to themselves; the others (controls, space, ...)
    map to characters from U+0100 on, in byte order: ``0x20 -> "Ġ"``.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def read_gpt2_files(
    encoder_json_path: str | Path, vocab_bpe_path: str | Path
) -> tuple[list[int], list[Merge], dict[str, int]]:
    """(byte ids, merges, specials) from GPT-2's ``encoder.json`` + ``vocab.bpe``."""
    try:
        encoder = json.loads(Path(encoder_json_path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{encoder_json_path}: not valid JSON ({error})") from None
    if not isinstance(encoder, dict):
        raise ValueError(f"{encoder_json_path}: not a JSON object {{token: id}}")
    lines = Path(vocab_bpe_path).read_text(encoding="utf-8").split("\n")
    missing = [ch for ch in bytes_to_unicode().values() if ch not in encoder]
    if missing:
        raise ValueError(f"{encoder_json_path} lacks the byte tokens {missing[:5]}")
    byte_ids = [encoder[ch] for ch in bytes_to_unicode().values()]
    merges = []
    for number, line in enumerate(lines):
        if not line or line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"{vocab_bpe_path}:{number + 1}: not a merge: {line!r}")
        left, right = parts
        unknown = [t for t in (left, right, left + right) if t not in encoder]
        if unknown:
            raise ValueError(
                f"{vocab_bpe_path}:{number + 1}: {unknown[0]!r} is not in "
                f"{encoder_json_path}"
            )
        merges.append((encoder[left], encoder[right], encoder[left + right]))
    made = set(byte_ids) | {new for _, _, new in merges}
    specials = {token: i for token, i in encoder.items() if i not in made}
    return byte_ids, merges, specials


def merges_from_ranks(ranks: dict[bytes, int]) -> tuple[list[int], list[Merge]]:
    """(byte ids, merges) from a tiktoken ranks table ``{token bytes: rank}``.

    Each token longer than one byte is encoded with the merges found so far (all of
    lower rank); BPE must leave exactly two parts, the pair it was made from.
    """
    from llmlab.tokenizer.training import merge_word

    singles = {t[0]: r for t, r in ranks.items() if len(t) == 1}
    if len(singles) != 256:
        raise ValueError(f"ranks table has {len(singles)} single bytes, need all 256")
    byte_ids = [singles[b] for b in range(256)]
    pair_rank: dict[tuple[int, int], int] = {}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) == 1:
            continue
        ids = [byte_ids[b] for b in token]
        while len(ids) > 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: pair_rank.get(p, rank))
            if pair not in pair_rank:
                break
            ids = merge_word(ids, pair, pair_rank[pair])
        if len(ids) != 2:
            raise ValueError(
                f"token {token!r} (rank {rank}) is not a merge of two lower-rank tokens"
            )
        pair_rank[(ids[0], ids[1])] = rank
        merges.append((ids[0], ids[1], rank))
    return byte_ids, merges
