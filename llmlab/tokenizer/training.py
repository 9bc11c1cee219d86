"""Learning BPE merges from pre-token counts, with incremental pair counts.

Byte-pair encoding starts from bytes and repeatedly merges the most frequent
adjacent pair into a new token. The textbook loop recounts every pair of the whole
corpus after each merge; here the corpus is first reduced to its distinct
pre-tokens ("words") with their counts, pair counts are computed once, and each
merge then updates only the words that contain the merged pair (found through an
index from pair to words). A heap keeps the most frequent pair at hand; entries
made stale by an update are skipped when they surface.

Tie-break (deterministic, documented): among pairs with the highest count, the pair
whose (left bytes, right bytes) sorts first wins. On ``"aaabdaaabac"`` the merges
are ``aa``, then ``ab`` (tied with ``aa a`` at count 2, and ``b"a" < b"aa"``), then
``aa ab``, as in the Wikipedia example.

Differs from the textbook version in: counts are per distinct word, not per
position; updates are incremental instead of full recounts.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping

Pair = tuple[int, int]


def merge_word(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` in ``ids``, left to right, by ``new_id``.

    ``[1, 1, 1, 2]`` with ``(1, 1) -> 9`` gives ``[9, 1, 2]``.
    """
    a, b = pair
    out, i, n = [], 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class _PairStats:
    """Pair counts over words, an index pair -> words, and a heap of candidates."""

    def __init__(self, words: list[list[int]], freqs: list[int], vocab: list[bytes]):
        self.words, self.freqs, self.vocab = words, freqs, vocab
        self.counts: dict[Pair, int] = defaultdict(int)
        self.where: dict[Pair, set[int]] = defaultdict(set)
        for w, (word, f) in enumerate(zip(words, freqs)):
            for pair in zip(word, word[1:]):
                self.counts[pair] += f
                self.where[pair].add(w)
        self.heap = [self._entry(p, c) for p, c in self.counts.items()]
        heapq.heapify(self.heap)

    def _entry(self, pair: Pair, count: int) -> tuple:
        return (-count, self.vocab[pair[0]], self.vocab[pair[1]], pair)

    def best(self) -> Pair | None:
        """The most frequent pair (tie-break in the module docstring), or None."""
        while self.heap:
            neg, _, _, pair = self.heap[0]
            if self.counts.get(pair, 0) == -neg and neg < 0:
                return pair
            heapq.heappop(self.heap)  # stale: its count changed since the push
        return None

    def merge(self, pair: Pair, new_id: int) -> None:
        """Merge ``pair`` into ``new_id`` in every word containing it; update counts."""
        counts, where, changed = self.counts, self.where, set()
        for w in where.pop(pair, ()):
            old, f = self.words[w], self.freqs[w]
            new = merge_word(old, pair, new_id)
            if len(new) == len(old):
                continue  # the index is lazy: this word lost the pair earlier
            for p in zip(old, old[1:]):
                counts[p] -= f
                changed.add(p)
            for p in zip(new, new[1:]):
                counts[p] += f
                where[p].add(w)
                changed.add(p)
            self.words[w] = new
        counts.pop(pair, None)
        for p in changed:
            c = counts.get(p, 0)
            if c > 0:
                heapq.heappush(self.heap, self._entry(p, c))
            else:
                counts.pop(p, None)


def learn_merges(
    word_counts: Mapping[bytes, int], n_merges: int, *, progress: bool = False
) -> list[Pair]:
    """The first ``n_merges`` BPE merges of a corpus given as word -> count.

    Token ids: bytes are 0..255 and merge ``k`` creates id ``256 + k``. Stops early
    when no pair is left (every word is a single token).
    ``{b"aaabdaaabac": 1}``, 3 -> ``[(97, 97), (97, 98), (256, 257)]``.
    """
    vocab = [bytes([i]) for i in range(256)]
    stats = _PairStats(
        [list(w) for w in word_counts], list(word_counts.values()), vocab
    )
    steps = range(256, 256 + n_merges)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="learning merges", unit="merge")
    merges = []
    for new_id in steps:
        pair = stats.best()
        if pair is None:
            break
        merges.append(pair)
        vocab.append(vocab[pair[0]] + vocab[pair[1]])
        stats.merge(pair, new_id)
    return merges
