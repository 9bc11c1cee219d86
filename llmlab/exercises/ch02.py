"""Checkers for chapter 02, embeddings: cosine neighbours, analogies by vector
arithmetic, gradients of the lookup."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


@exercise("nearest_neighbours")
def verify_nearest_neighbours(fn) -> None:
    """``nearest_neighbours(table, token_id, k)``: k most cosine-similar other ids."""
    g = torch.Generator().manual_seed(3)
    # Row 1 points the same way as row 0 but is long; row 2 is short and close in
    # Euclidean distance but points elsewhere. Cosine similarity ranks 1 above 2.
    scaled = torch.tensor([[1.0, 0.0], [10.0, 0.5], [0.5, 0.6], [-1.0, 0.1]])
    cases = {
        "a table where length and direction disagree": (scaled, 0, 2),
        "a random table (20, 8), k=3": (torch.randn(20, 8, generator=g), 7, 3),
        "a random table (50, 16), k=5": (torch.randn(50, 16, generator=g), 0, 5),
    }
    for label, (table, token_id, k) in cases.items():
        got = fn(table.clone(), token_id, k)
        got = [int(i) for i in (got.tolist() if isinstance(got, torch.Tensor) else got)]
        similarity = F.cosine_similarity(table[token_id][None], table, dim=-1)
        similarity[token_id] = float("-inf")  # a token is not its own neighbour
        want = similarity.topk(k).indices.tolist()
        assert token_id not in got, f"{label}: {got} contains the token itself"
        assert len(got) == k, f"{label}: got {len(got)} ids, want k={k}"
        assert got == want, (
            f"{label}: got {got}, want {want} (most similar first). Hint: cosine "
            "similarity divides the dot product by both vectors' lengths."
        )


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
