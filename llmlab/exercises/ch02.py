"""Checkers for chapter 02, embeddings: how much two tables agree on neighbours,
analogies by vector arithmetic, gradients of the lookup."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


def _neighbour_sets(
    table: torch.Tensor, ids: list[int], k: int, *, score: str = "cosine"
) -> list[set[int]]:
    """The k best-scoring other ids among ``ids`` for each id, in float64."""
    rows = table[ids].double()  # (N, D)
    if score == "cosine":
        rows = F.normalize(rows, dim=-1)
    sims = rows @ rows.T if score != "euclidean" else -torch.cdist(rows, rows)
    sims.fill_diagonal_(float("-inf"))  # a token is not its own neighbour
    return [{ids[j] for j in row} for row in sims.topk(k, dim=-1).indices.tolist()]


def _overlap(a: torch.Tensor, b: torch.Tensor, ids: list[int], k: int, **kw) -> float:
    pairs = zip(_neighbour_sets(a, ids, k, **kw), _neighbour_sets(b, ids, k, **kw))
    return sum(len(x & y) for x, y in pairs) / (k * len(ids))


def _overlap_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, list[int], int]]:
    g = torch.Generator().manual_seed(3)
    table = torch.randn(30, 8, generator=g)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    lengths = torch.rand(30, 1, generator=g) * 10 + 0.1  # from 0.1 to 10.1
    noisy = table + 0.5 * torch.randn(30, 8, generator=g)
    wider = table @ torch.randn(8, 16, generator=g)  # (30, 16)
    other = torch.randn(30, 8, generator=g)
    subset = torch.randperm(30, generator=g)[:12].tolist()
    everything = list(range(30))
    return [
        ("a table and a rotated copy", table, table @ rotation, everything, 3),
        ("rows rescaled to lengths 0.1..10", table, table * lengths, everything, 3),
        ("two unrelated random tables, k=3", table, other, everything, 3),
        ("a table and a noisy copy, k=4", table, noisy, everything, 4),
        ("tables of widths 8 and 16, k=1", table, wider, everything, 1),
        ("ids: 12 of the 30 rows, shuffled, k=2", table, noisy, subset, 2),
        ("k = len(ids) - 1: every other id", table, other, subset, 11),
    ]


_MISTAKES = {
    "counting each id as its own neighbour": "self",
    "ranking by the dot product": "dot",
    "ranking by Euclidean distance": "euclidean",
    "searching all rows of the table instead of only the ids": "all rows",
}


def _mistake(a, b, ids, k, name: str) -> float:
    if name in ("dot", "euclidean"):
        return _overlap(a, b, ids, k, score=name)
    if name == "all rows":
        all_a = _neighbour_sets(a, list(range(len(a))), k)
        all_b = _neighbour_sets(b, list(range(len(b))), k)
        return sum(len(all_a[i] & all_b[i]) for i in ids) / (k * len(ids))
    n = len(ids)  # "self": top k of the similarities with the diagonal kept
    eye = torch.eye(n, dtype=torch.float64)
    sets = []
    for t in (a, b):
        unit = F.normalize(t[ids].double(), dim=-1)
        sims = unit @ unit.T + 1e-9 * eye  # self first, ahead of an equal row
        sets.append([set(r) for r in sims.topk(k, dim=-1).indices.tolist()])
    return sum(len(x & y) for x, y in zip(*sets)) / (k * n)


@exercise("neighbour_overlap")
def verify_neighbour_overlap(fn) -> None:
    """``neighbour_overlap(table_a, table_b, ids, k)``: for each id, its k most
    cosine-similar other ids (among ``ids``) in each table; the fraction of the k
    that the two tables share, averaged over the ids."""
    for label, a, b, ids, k in _overlap_cases():
        got = float(fn(a.clone(), b.clone(), list(ids), k))  # one number
        want = _overlap(a, b, ids, k)
        if abs(got - want) < 1e-6:
            continue
        matches = [
            why
            for why, name in _MISTAKES.items()
            if abs(got - _mistake(a, b, ids, k, name)) < 1e-6
        ]
        hint = (
            f" That is the result of {' or '.join(matches)}; rank the other ids by "
            "cosine similarity."
            if matches
            else " The share of the k neighbours in common, averaged over the ids."
        )
        raise AssertionError(f"{label}: got {got:.4f}, want {want:.4f}.{hint}")


@exercise("embedding_grad")
def verify_embedding_grad(fn) -> None:
    """``embedding_grad(ids, grad_output, vocab_size)``: dLoss/dTable, shape (V, D)."""
    g = torch.Generator().manual_seed(4)
    cases = {
        "distinct ids": (torch.tensor([4, 1, 0]), 6, 3),
        "a repeated id (its gradients add up)": (torch.tensor([2, 5, 2, 2]), 6, 4),
        "a batch (B, T) = (2, 5)": (torch.randint(0, 9, (2, 5), generator=g), 9, 5),
    }
    for label, (ids, V, D) in cases.items():
        grad_output = torch.randn(*ids.shape, D, generator=g)
        table = torch.zeros(V, D, requires_grad=True)
        F.embedding(ids, table).backward(grad_output)
        want = table.grad
        got = fn(ids.clone(), grad_output.clone(), V)
        _expect_tensor(label, got)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)} "
            "(one gradient row per vocabulary entry)"
        )
        assert torch.allclose(got, want, atol=1e-5), (
            f"{label}: the gradient differs from autograd's. Rows of ids that never "
            "appear stay zero; a repeated id collects the sum of its rows "
            "(Hint: Tensor.index_add_)."
        )


def _analogy_cases() -> list[tuple[str, torch.Tensor, tuple[int, int, int], list[int]]]:
    g = torch.Generator().manual_seed(5)
    # A table where b - a + c lands exactly on row 4, and row 5 points almost the
    # same way but is ten times longer: cosine picks row 4, a dot product row 5.
    built = torch.tensor(
        [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, -1.0]]
    )
    target = built[1] - built[0] + built[2]  # (0, 1, 1)
    built = torch.cat(
        [built, target[None], 10 * target[None] + torch.tensor([[3.0, 0, 0]])]
    )
    random = torch.randn(40, 8, generator=g)
    return [
        (
            "a 6-row table where the answer is known",
            built,
            (0, 1, 2),
            [0, 1, 2, 3, 4, 5],
        ),
        (
            "a random (40, 8) table, every row a candidate",
            random,
            (3, 9, 17),
            list(range(40)),
        ),
        (
            "a random table, candidates 10..29 only",
            random,
            (12, 5, 20),
            list(range(10, 30)),
        ),
        (
            "candidates in a shuffled order",
            random,
            (1, 2, 3),
            [31, 7, 2, 19, 1, 3, 25, 11],
        ),
    ]


@exercise("analogy")
def verify_analogy(fn) -> None:
    """``analogy(table, a, b, c, candidates)``: "a is to b as c is to ?": the
    candidate other than a, b and c whose row is most cosine-similar to
    table[b] - table[a] + table[c]."""
    for label, table, (a, b, c), candidates in _analogy_cases():
        got = fn(table.clone(), a, b, c, list(candidates))
        if isinstance(got, torch.Tensor):
            got = got.item()
        assert isinstance(got, int), f"{label}: expected an int id, got {got!r:.60}"
        query = table[b] - table[a] + table[c]
        allowed = [i for i in candidates if i not in (a, b, c)]
        sims = F.cosine_similarity(query[None], table[allowed], dim=-1)
        want = allowed[int(sims.argmax())]
        assert got not in (a, b, c), (
            f"{label}: got {got}, one of a, b, c = {(a, b, c)}. The query often "
            "lies closest to c itself; leave a, b and c out of the candidates."
        )
        assert got in candidates, f"{label}: got {got}, which is not a candidate"
        assert got == want, (
            f"{label}: got {got}, want {want}. The query is table[b] - table[a] + "
            "table[c] (b minus a: the offset from a to b, added to c); rank the "
            "candidates by cosine similarity with it, not by the dot product."
        )
