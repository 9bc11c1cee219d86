"""Checkers for chapter 02, embeddings: lookup tables, cosine neighbours, gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmlab.exercises._core import exercise


def _expect_tensor(label: str, got: object) -> None:
    assert isinstance(got, torch.Tensor), f"{label}: expected a tensor, got {type(got)}"


@exercise("one_hot_embed")
def verify_one_hot_embed(fn) -> None:
    """``one_hot_embed(ids, table)``: ids (...) int64, table (V, D) -> (..., D)."""
    g = torch.Generator().manual_seed(2)
    cases = {
        "one id": (torch.tensor([3]), 5, 4),
        "a sequence with a repeated id": (torch.tensor([0, 2, 2, 4]), 5, 3),
        "a batch (B, T) = (2, 3)": (torch.tensor([[1, 0, 6], [6, 6, 2]]), 7, 8),
    }
    for label, (ids, V, D) in cases.items():
        table = torch.randn(V, D, generator=g)
        got = fn(ids.clone(), table.clone())
        _expect_tensor(label, got)
        want = F.embedding(ids, table)
        assert got.shape == want.shape, (
            f"{label}: shape {tuple(got.shape)}, want {tuple(want.shape)} "
            "(one row of D numbers per id)"
        )
        assert torch.allclose(got.float(), want, atol=1e-6), (
            f"{label}: the vectors differ from table[ids]. Hint: F.one_hot gives "
            "integers; turn them into floats before the matrix product."
        )


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
