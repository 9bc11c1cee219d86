"""BPE training: the hand-worked example, a textbook oracle, corpora and errors."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlab.tokenizer import BPETokenizer
from llmlab.tokenizer.training import learn_merges, merge_word


def textbook_merges(word_counts: dict[bytes, int], n_merges: int) -> list:
    """The slow textbook loop: recount every pair of every word after each merge."""
    words = {tuple(w): c for w, c in word_counts.items()}
    vocab = {i: bytes([i]) for i in range(256)}
    merges = []
    for new_id in range(256, 256 + n_merges):
        counts: Counter = Counter()
        for word, c in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] += c
        if not counts:
            break
        # Highest count; ties: the pair whose (left bytes, right bytes) sorts first.
        pair = min(counts, key=lambda p: (-counts[p], vocab[p[0]], vocab[p[1]]))
        merges.append(pair)
        vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
        merged: Counter = Counter()
        for word, c in words.items():
            merged[tuple(merge_word(list(word), pair, new_id))] += c
        words = merged
    return merges


def test_hand_worked_example() -> None:
    """Wikipedia's "aaabdaaabac": aa -> Z, ab -> Y, ZY -> X leaves "XdXac"."""
    tok = BPETokenizer.train("aaabdaaabac", vocab_size=259, special_tokens=())
    a, b = ord("a"), ord("b")
    assert tok.merges == [(a, a, 256), (a, b, 257), (256, 257, 258)]
    assert [tok.vocab[i] for i in (256, 257, 258)] == [b"aa", b"ab", b"aaab"]
    assert tok.encode("aaabdaaabac") == [258, ord("d"), 258, a, ord("c")]


def test_merge_word() -> None:
    assert merge_word([1, 1, 1, 2], (1, 1), 9) == [9, 1, 2]
    assert merge_word([1, 2, 3, 1, 2], (1, 2), 7) == [7, 3, 7]
    assert merge_word([], (1, 2), 7) == []


words_strategy = st.dictionaries(
    st.binary(min_size=1, max_size=12).map(lambda b: bytes(97 + x % 4 for x in b)),
    st.integers(1, 20),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(words_strategy, st.integers(0, 40))
def test_incremental_counts_equal_the_textbook_loop(word_counts, n_merges) -> None:
    assert learn_merges(word_counts, n_merges) == textbook_merges(word_counts, n_merges)


def test_textbook_oracle_on_real_words(stdlib_text) -> None:
    counts = Counter(stdlib_text[:20_000].split(" "))
    word_counts = {w.encode(): c for w, c in counts.items() if w}
    assert learn_merges(word_counts, 60) == textbook_merges(word_counts, 60)


def test_special_tokens_are_never_merged_and_come_last() -> None:
    text = "one two<|endoftext|>three<|endoftext|><|endoftext|>four " * 50
    tok = BPETokenizer.train(text, vocab_size=265, special_tokens=("<|endoftext|>",))
    assert tok.special_tokens == {"<|endoftext|>": 264}
    assert tok.vocab_size == 265
    for i, token in tok.vocab.items():
        if i != 264:
            assert b"<|" not in token and b"|>" not in token, token
    assert tok.encode(text, allowed_special="all").count(264) == 150


def test_corpus_as_files_iterator_or_str(tmp_path, stdlib_text) -> None:
    docs = [stdlib_text[i : i + 30_000] for i in range(0, 120_000, 30_000)]
    paths = []
    for k, doc in enumerate(docs):
        paths.append(tmp_path / f"doc{k}.py")
        paths[-1].write_text(doc, encoding="utf-8")
    from_files = BPETokenizer.train(paths, vocab_size=600)
    from_iter = BPETokenizer.train(iter(docs), vocab_size=600)
    from_str = BPETokenizer.train("<|endoftext|>".join(docs), vocab_size=600)
    assert from_files.merges == from_iter.merges == from_str.merges
    assert len(from_files.merges) == 600 - 256 - 1


@pytest.mark.slow
def test_parallel_counting_equals_serial(stdlib_text, tmp_path, monkeypatch) -> None:
    import llmlab.tokenizer.pretokenize as pretokenize

    monkeypatch.setattr(pretokenize, "_BATCH_CHARS", 50_000)  # many jobs
    text = stdlib_text[:400_000]
    paths = []
    for k in range(4):
        paths.append(tmp_path / f"part{k}.py")
        paths[-1].write_text(text[k * 100_000 : (k + 1) * 100_000], encoding="utf-8")
    serial = BPETokenizer.train(text, vocab_size=800, n_workers=1)
    assert len(pretokenize.split_for_workers(text, 8, ())) > 4
    assert BPETokenizer.train(text, vocab_size=800, n_workers=2).merges == serial.merges
    serial = BPETokenizer.train(paths, vocab_size=800, n_workers=1)
    assert (
        BPETokenizer.train(paths, vocab_size=800, n_workers=2).merges == serial.merges
    )
    pieces = [text[i : i + 1000] for i in range(0, len(text), 1000)]
    serial = BPETokenizer.train(iter(pieces), vocab_size=800, n_workers=1)
    parallel = BPETokenizer.train(iter(pieces), vocab_size=800, n_workers=2)
    assert parallel.merges == serial.merges


def test_training_is_deterministic(stdlib_text) -> None:
    text = stdlib_text[:50_000]
    assert (
        BPETokenizer.train(text, vocab_size=500).merges
        == BPETokenizer.train(text, vocab_size=500).merges
    )


def test_progress_bar_runs(stdlib_text, capsys) -> None:
    BPETokenizer.train(stdlib_text[:10_000], vocab_size=300, progress=True)
    assert "learning merges" in capsys.readouterr().err


@pytest.mark.parametrize("vocab_size", [0, 255, 256, 257.0, "1000", None])
def test_vocab_size_too_small_or_not_int(vocab_size) -> None:
    with pytest.raises(ValueError, match=f"vocab_size={vocab_size!r}"):
        BPETokenizer.train("hello", vocab_size=vocab_size)


@pytest.mark.parametrize("corpus", ["", "<|endoftext|>", iter([])])
def test_empty_corpus(corpus) -> None:
    with pytest.raises(ValueError, match="corpus is empty"):
        BPETokenizer.train(corpus, vocab_size=300)


def test_bad_corpus_types(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file|not a file"):
        BPETokenizer.train(["def f(): pass"], vocab_size=300)
    with pytest.raises(TypeError, match="int"):
        BPETokenizer.train(42, vocab_size=300)
    with pytest.raises(TypeError, match="bytes"):
        BPETokenizer.train(iter([b"bytes"]), vocab_size=300)


def test_special_tokens_given_as_one_string() -> None:
    with pytest.raises(TypeError, match="collection of str"):
        BPETokenizer.train("hello", vocab_size=300, special_tokens="<|endoftext|>")


@pytest.mark.parametrize("specials", [("",), ("<a>", "<a>"), (None,)])
def test_bad_special_tokens(specials) -> None:
    with pytest.raises(ValueError, match="special tokens"):
        BPETokenizer.train("hello", vocab_size=300, special_tokens=specials)


def test_small_corpus_warns_with_the_reached_size() -> None:
    with pytest.warns(UserWarning, match="only 2 merges") as record:
        tok = BPETokenizer.train("abc", vocab_size=1000, special_tokens=())
    assert "vocab_size is 258, not 1000" in str(record[0].message)
    assert tok.vocab_size == 258
