"""Checkers for chapter 01, tokenization: count pairs, merge a pair, encode with merges.

Right answers come from the package: ``collections.Counter`` over adjacent pairs,
``llmlab.tokenizer.training.merge_word`` and ``BPETokenizer.bpe``.
"""

from __future__ import annotations

import random
from collections import Counter

from llmlab.exercises._core import exercise
from llmlab.tokenizer import BPETokenizer
from llmlab.tokenizer.training import learn_merges, merge_word


def _random_ids(rng: random.Random, n: int, alphabet: int) -> list[int]:
    return [rng.randrange(alphabet) for _ in range(n)]


@exercise("count_pairs")
def verify_count_pairs(fn) -> None:
    """``count_pairs(ids)``: how often each adjacent pair occurs."""
    rng = random.Random(0)
    cases = {
        "the example [1, 2, 3, 1, 2]": [1, 2, 3, 1, 2],
        "an empty list": [],
        "a single id": [7],
        "a run [5, 5, 5, 5] (pairs overlap)": [5, 5, 5, 5],
        "the bytes of 'aaabdaaabac'": list(b"aaabdaaabac"),
        "200 random ids": _random_ids(rng, 200, 6),
    }
    for label, ids in cases.items():
        got = fn(list(ids))
        want = Counter(zip(ids, ids[1:]))
        kind = type(got).__name__
        assert isinstance(got, dict), f"{label}: expected a dict, got {kind}"
        got = {k: v for k, v in got.items() if v}
        assert got == dict(want), (
            f"{label}: got {dict(sorted(got.items())[:6])}..., want "
            f"{dict(sorted(want.items())[:6])}... Count every position i with the pair "
            "(ids[i], ids[i + 1])."
        )


@exercise("merge_pair")
def verify_merge_pair(fn) -> None:
    """``merge_pair(ids, pair, new_id)``: replace each occurrence, left to right."""
    rng = random.Random(1)
    cases = [
        ("the example", [1, 2, 3, 1, 2], (1, 2), 9),
        ("a run of three: the first two merge", [5, 5, 5], (5, 5), 9),
        ("a run of four", [5, 5, 5, 5], (5, 5), 9),
        ("a pair at the very end", [3, 1, 2], (1, 2), 9),
        ("no occurrence", [1, 3, 2], (1, 2), 9),
        ("empty", [], (1, 2), 9),
        ("random ids", _random_ids(rng, 300, 4), (2, 3), 99),
    ]
    for label, ids, pair, new_id in cases:
        got = fn(list(ids), pair, new_id)
        want = merge_word(list(ids), pair, new_id)
        assert list(got) == want, (
            f"{label}: merge_pair({ids[:12]}, {pair}, {new_id}) gave {list(got)[:12]}, "
            f"want {want[:12]}. After a merge, continue two positions further."
        )


@exercise("bpe_encode")
def verify_bpe_encode(fn) -> None:
    """``bpe_encode(text, merges)``: UTF-8 bytes, then merges lowest id first."""
    corpus = "low lower lowest newer newest wider widest " * 3
    pairs = learn_merges({corpus.encode("utf-8"): 1}, 20)
    merges = {pair: 256 + k for k, pair in enumerate(pairs)}
    tokenizer = BPETokenizer(
        byte_ids=list(range(256)),
        merges=[(a, b, new) for (a, b), new in merges.items()],
        special_tokens={},
    )
    for text in ["lowest", "newer wider", "", "slower than ever", "ŵ 🐍 low"]:
        got = fn(text, dict(merges))
        want = tokenizer.bpe(list(text.encode("utf-8")))
        assert list(got) == want, (
            f"bpe_encode({text!r}) gave {list(got)}, want {want}. Start from the UTF-8 "
            "bytes; repeatedly merge the present pair with the lowest new id."
        )
