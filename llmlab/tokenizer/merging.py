"""Applying learned merges to a sequence of ids: how BPE encodes one piece.

Start from the piece's byte ids and, while some adjacent pair has a merge, apply the
merge with the lowest id (the one learned earliest), leftmost occurrence first.
Merging one occurrence at a time equals merging all occurrences of that pair at
once, since a merge can only form pairs with higher ids.

Two versions give identical ids. :func:`apply_merges` keeps a list of pair ranks and
rescans it for the minimum: simple, and fastest for the short pieces of real text.
:func:`apply_merges_heap` keeps the candidate pairs in a heap over a linked list, so
a pathological piece (100,000 letters with no space) costs O(n log n), not O(n²).

Differs from GPT-2's ``encoder.py`` in: ids instead of strings; the heap version is
ours (tiktoken has a similar one for long pieces).

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import heapq
from itertools import repeat

Pair = tuple[int, int]
_NEVER = 1 << 62


def apply_merges(ids: list[int], ranks: dict[Pair, int]) -> list[int]:
    """Merge ``ids`` with ``ranks`` (pair -> new id), lowest id first.

    ``[1, 2, 3]`` with ``{(1, 2): 4, (4, 3): 5}`` -> ``[5]``.
    """
    get = ranks.get
    ids = list(ids)
    pair_ranks = list(map(get, zip(ids, ids[1:]), repeat(_NEVER)))
    while pair_ranks:
        best = min(pair_ranks)
        if best == _NEVER:
            break
        i = pair_ranks.index(best)
        ids[i : i + 2] = [best]
        del pair_ranks[i]
        if i > 0:  # only the merged token's neighbours form new pairs
            pair_ranks[i - 1] = get((ids[i - 1], best), _NEVER)
        if i < len(pair_ranks):
            pair_ranks[i] = get((best, ids[i + 1]), _NEVER)
    return ids


def apply_merges_heap(ids: list[int], ranks: dict[Pair, int]) -> list[int]:
    """:func:`apply_merges` in O(n log n): a heap of (rank, position) candidates.

    Positions are the original indices of a doubly linked list; a merged token keeps
    its left position, so equal ranks still go leftmost first. A heap entry is stale
    when either token at its position has changed since it was pushed.
    """
    tokens = list(ids)
    n = len(tokens)
    right = list(range(1, n + 1))  # right[i] == n: no right neighbour
    left = list(range(-1, n - 1))
    heap = [
        (ranks[p], i, *p) for i, p in enumerate(zip(tokens, tokens[1:])) if p in ranks
    ]
    heapq.heapify(heap)
    alive = [True] * n
    while heap:
        new, i, a, b = heapq.heappop(heap)
        j = right[i] if alive[i] else n
        if j == n or tokens[i] != a or tokens[j] != b:
            continue  # stale: one side was merged into something else
        tokens[i], alive[j] = new, False
        right[i] = right[j]
        if right[j] < n:
            left[right[j]] = i
        for x, y in ((left[i], i), (i, right[i])):
            if x >= 0 and y < n and (tokens[x], tokens[y]) in ranks:
                heapq.heappush(
                    heap, (ranks[(tokens[x], tokens[y])], x, tokens[x], tokens[y])
                )
    return [t for t, keep in zip(tokens, alive) if keep]
