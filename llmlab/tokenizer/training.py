"""Learning BPE merges from pre-token counts, with incremental pair counts.

Byte-pair encoding starts from bytes and repeatedly merges the most frequent
adjacent pair into a new token. The textbook loop recounts every pair of the whole
corpus after each merge; here the corpus is first reduced to its distinct
pre-tokens ("words") with their counts, pair counts are computed once, and each
merge then updates only the words that contain the merged pair (found through an
index from pair to words). A heap keeps the most frequent pair at hand; entries
made outdated by an update are refreshed or dropped when they surface.

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


def merge_and_count(
    word: list[int],
    pair: Pair,
    new_id: int,
    weight: int,
    counts: dict[Pair, int],
    created: list[Pair],
) -> list[int]:
    """``merge_word`` that also updates ``counts`` for the pairs around each merge.

    Only neighbours of a merge change: ``x a b y`` loses ``(x, a)`` and ``(b, y)``
    and gains ``(x, new)`` and ``(new, y)``, each ``weight`` times; the gained pairs
    are appended to ``created``. When merges sit side by side (``a b a b``), the
    pair between them is counted once.
    """
    a, b = pair
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            if i > 0:
                counts[(word[i - 1], a)] -= weight
            if i + 2 < n and not (i + 3 < n and word[i + 2] == a and word[i + 3] == b):
                counts[(b, word[i + 2])] -= weight
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    for k, token in enumerate(out):
        if token == new_id:
            if k > 0:
                created.append((out[k - 1], new_id))
                counts[created[-1]] += weight
            if k + 1 < len(out) and out[k + 1] != new_id:
                created.append((new_id, out[k + 1]))
                counts[created[-1]] += weight
    return out


class _PairStats:
    """Pair counts over words, an index pair -> words, and a heap of candidates.

    The heap is lazy: an entry may hold an old count. A pair with a count > 0 always
    has an entry at least as high, so when an outdated entry surfaces it is pushed
    again with the current count, or dropped if a fresher entry exists.
    """

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
            neg, _, _, pair = heapq.heappop(self.heap)
            count = self.counts.get(pair, 0)
            if count == -neg:
                return pair
            if 0 < count < -neg:  # the count fell since this entry was pushed
                heapq.heappush(self.heap, self._entry(pair, count))
        return None

    def merge(self, pair: Pair, new_id: int) -> None:
        """Merge ``pair`` into ``new_id`` in every word containing it; update counts."""
        counts, where, words, fresh = self.counts, self.where, self.words, set()
        created: list[Pair] = []
        left, right = pair
        for w in where.pop(pair, ()):
            word = words[w]
            if left not in word or right not in word:
                continue  # the index is lazy: this word lost the pair earlier
            new = merge_and_count(word, pair, new_id, self.freqs[w], counts, created)
            if len(new) == len(word):
                continue  # (same, when both tokens are still there)
            words[w] = new
            for p in created:
                where[p].add(w)
            fresh.update(created)
            created.clear()
        counts.pop(pair, None)
        for p in fresh:  # pairs that lost count keep their (higher) entries
            heapq.heappush(self.heap, self._entry(p, counts[p]))


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
