"""The description a tokenizer is built from is checked, naming the bad value
(issue 14, items 12 and 15)."""

from __future__ import annotations

import pytest

from llmlab.tokenizer import BPETokenizer
from llmlab.tokenizer.validation import MAX_ID_GAP


def _build(**changes) -> BPETokenizer:
    fields = {"byte_ids": list(range(256)), "merges": [(97, 98, 256)]}
    fields |= {"special_tokens": {"<s>": 257}} | changes
    return BPETokenizer(**fields)


@pytest.mark.parametrize("bad", [-1, 10**9, 1.5, True, "257", None])
def test_special_ids_out_of_range_or_not_int(bad) -> None:
    with pytest.raises(ValueError, match=f"special token '<s>' has id {bad!r}"):
        _build(special_tokens={"<s>": bad})


def test_special_ids_may_leave_a_small_gap_only() -> None:
    limit = 256 + 1 + 1 + MAX_ID_GAP
    assert _build(special_tokens={"<s>": limit - 1}).vocab_size == limit
    with pytest.raises(ValueError, match=f"ids are ints from 0 to {limit - 1}"):
        _build(special_tokens={"<s>": limit})


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"special_tokens": {"": 257}}, "names must be non-empty str"),
        ({"special_tokens": [("<s>", 257)]}, "must be a dict"),
        ({"byte_ids": list(range(255)) + [True]}, "list of 256 ints"),
        ({"byte_ids": "0123"}, "list of 256 ints"),
        ({"merges": [(97, 98)]}, r"merge 0 must be three ints \[left, right, new\]"),
        ({"merges": [(97, 98, 256.0)]}, "merge 0 must be three ints"),
        ({"merges": [(97, 300, 256)]}, "joins id 300, which no byte"),
        ({"merges": [(97, 98, 97)]}, "makes id 97, which is already a token"),
    ],
)
def test_bad_descriptions(changes, match) -> None:
    with pytest.raises(ValueError, match=match):
        _build(**changes)


@pytest.mark.parametrize(
    "pattern, match",
    [
        ("", "must be a non-empty regex"),
        (None, "must be a non-empty regex"),
        ("(a", "not a valid regex"),
        (r"\p{L}*", "matches the empty string"),
    ],
)
def test_bad_patterns(pattern, match) -> None:
    """Issue 14 item 12: an empty pattern used to encode everything to []."""
    with pytest.raises(ValueError, match=match):
        _build(pattern=pattern)
