"""Applying merges: the list loop and the heap loop agree, on GPT-2 and at random."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmlab.tokenizer.merging import apply_merges, apply_merges_heap
from llmlab.tokenizer.training import merge_word


def textbook(ids: list[int], ranks: dict) -> list[int]:
    """Apply every merge in order of its id, each over the whole sequence."""
    for pair, new in sorted(ranks.items(), key=lambda item: item[1]):
        ids = merge_word(ids, pair, new)
    return ids


@st.composite
def merges_and_ids(draw):
    """A random consistent merge table over a 4-letter alphabet, and a sequence."""
    ranks, known = {}, [0, 1, 2, 3]
    for new in range(4, 4 + draw(st.integers(0, 25))):
        pair = (draw(st.sampled_from(known)), draw(st.sampled_from(known)))
        if pair not in ranks:
            ranks[pair] = new
            known.append(new)
    return ranks, draw(st.lists(st.integers(0, 3), max_size=60))


def test_example() -> None:
    ranks = {(1, 2): 4, (4, 3): 5}
    assert apply_merges([1, 2, 3], ranks) == apply_merges_heap([1, 2, 3], ranks) == [5]
    assert apply_merges([], ranks) == apply_merges_heap([], ranks) == []


@settings(max_examples=400, deadline=None)
@given(merges_and_ids())
def test_list_heap_and_textbook_agree(case) -> None:
    ranks, ids = case
    want = textbook(list(ids), ranks)
    assert apply_merges(list(ids), ranks) == want
    assert apply_merges_heap(list(ids), ranks) == want


def test_long_pieces_agree_with_gpt2(gpt2, tiktoken_gpt2) -> None:
    for text in ["漢字" * 3000, "a" * 5000, "ab" * 4000 + "c", "=" * 3001, " " * 999]:
        ids = [gpt2.byte_ids[b] for b in text.encode("utf-8")]
        assert apply_merges_heap(ids, gpt2._ranks) == apply_merges(ids, gpt2._ranks)
        assert gpt2.encode(text) == tiktoken_gpt2.encode(text)
