"""A synthetic language for probing what a model does with its context.

Token ids ``0 .. n_content - 1`` are content; one more id, ``mark``, introduces a
key → value pair written ``mark k v``. A document mixes random spans, new pairs,
repeats of earlier pairs and copies of earlier spans. Nothing in it can be learned
by heart: every value is drawn at random per document, so the only way to predict a
repeated pair's value, or the rest of a copied span, is to find it in the context.
A model trained on this stream learns to copy (induction heads, Olsson et al. 2022,
arXiv:2209.11895) and nothing else; chapters 11 and 10 measure what that copying
can and cannot do.

Differs from the associative-recall tasks of the literature (e.g. Zoology, Arora et
al. 2023, arXiv:2312.04927) in: pairs are scattered among random spans and copies
rather than listed first, so one model serves the copy and the recall probes.

Taught in: chapters/11_what_context_is_not.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RecallTask:
    n_content: int = 56
    """Number of content ids (0 .. n_content - 1); keys and values are content ids."""
    doc_len: int = 128
    """Tokens per generated document."""

    def __post_init__(self) -> None:
        if self.n_content < 8:
            raise ValueError(f"n_content={self.n_content} must be >= 8")
        if self.doc_len < 16:
            raise ValueError(f"doc_len={self.doc_len} must be >= 16")

    @property
    def mark(self) -> int:
        """The id that introduces a pair."""
        return self.n_content

    @property
    def vocab_size(self) -> int:
        return self.n_content + 1


def _randint(high: int, g: torch.Generator, low: int = 0) -> int:
    return int(torch.randint(low, high, (1,), generator=g))


def document(task: RecallTask, generator: torch.Generator) -> list[int]:
    """One training document of ``task.doc_len`` ids: spans, pairs, repeats, copies.

    Keys are unique within a document, so a repeated pair is never ambiguous.
    """
    g, ids, pairs = generator, [], []
    free_keys = torch.randperm(task.n_content, generator=g).tolist()
    while len(ids) < task.doc_len:
        kind = _randint(20, g)
        if kind < 5 or (kind < 8 and not free_keys) or len(ids) < 8:
            n = _randint(13, g, 4)
            ids += torch.randint(0, task.n_content, (n,), generator=g).tolist()
        elif kind < 8:
            k, v = free_keys.pop(), _randint(task.n_content, g)
            pairs.append((k, v))
            ids += [task.mark, k, v]
        elif kind < 12 and pairs:
            k, v = pairs[_randint(len(pairs), g)]
            ids += [task.mark, k, v]
        else:
            n = _randint(min(25, len(ids) + 1), g, 8)
            start = _randint(len(ids) - n + 1, g)
            ids += ids[start : start + n]
    return ids[: task.doc_len]


def stream(task: RecallTask, n_tokens: int, generator: torch.Generator) -> torch.Tensor:
    """Documents laid end to end: (n_tokens,) int64, for ``llmlab.train.fit``."""
    ids: list[int] = []
    while len(ids) < n_tokens:
        ids += document(task, generator)
    return torch.tensor(ids[:n_tokens], dtype=torch.long)


def copy_prompts(
    task: RecallTask, *, length: int, n: int, generator: torch.Generator
) -> torch.Tensor:
    """n random content sequences, each written twice: (n, 2 * length) int64."""
    first = torch.randint(0, task.n_content, (n, length), generator=generator)
    return torch.cat([first, first], dim=1)  # (n, 2L)


def recall_prompts(
    task: RecallTask,
    *,
    distance: int,
    n: int,
    generator: torch.Generator,
    filler: str = "random",
    planted: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts ``mark k v  <distance filler tokens>  mark k`` and the answers v.

    Returns ids (n, distance + 5) and values (n,). ``filler``: "random" content ids
    other than k, or "pairs": other ``mark k' v'`` pairs (distractors that look
    like the fact). With ``planted=False`` the first three tokens are filler too:
    the fact is nowhere in the context, and v is just a random id.
    """
    if filler not in ("random", "pairs"):
        raise ValueError(f"filler={filler!r} must be 'random' or 'pairs'")
    if distance < 0:
        raise ValueError(f"distance={distance} must be >= 0")
    rows, values = [], []
    for _ in range(n):
        k, v = _randint(task.n_content, generator), _randint(task.n_content, generator)
        others = [i for i in range(task.n_content) if i != k]
        body = _filler(task, others, distance + 3, filler, generator)
        head = [task.mark, k, v] if planted else body[:3]
        rows.append(head + body[3:] + [task.mark, k])
        values.append(v)
    return torch.tensor(rows), torch.tensor(values)


def _filler(task, others: list[int], n: int, kind: str, g) -> list[int]:
    pick = torch.randint(0, len(others), (n,), generator=g).tolist()
    if kind == "random":
        return [others[i] for i in pick]
    out = []
    for i in range(0, n, 3):  # mark k' v' triples, cut to length n
        out += [task.mark, others[pick[i]], _randint(task.n_content, g)]
    return out[:n]
