"""Probes on tiny cases: hand-built attention maps and a model that copies by hand."""

from __future__ import annotations

import torch

from llmlab.context import (
    RecallTask,
    attention_by_distance,
    attention_on,
    copy_accuracy,
    copy_prompts,
    induction_scores,
    recall_accuracy,
)


class Oracle(torch.nn.Module):
    """Predicts what followed the last earlier occurrence of the current token
    (a perfect induction head), else token 0; logits are one-hot."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the probe a device

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        out = torch.zeros(B, T, self.vocab_size)
        for b in range(B):
            row = ids[b].tolist()
            for t in range(T):
                earlier = [s for s in range(t) if row[s] == row[t]]
                out[b, t, row[earlier[-1] + 1] if earlier else 0] = 1.0
        return out


def test_copy_accuracy_of_a_perfect_copier_and_of_chance() -> None:
    task = RecallTask(n_content=50)
    g = torch.Generator().manual_seed(0)
    prompts = copy_prompts(task, length=10, n=4, generator=g)
    assert prompts.shape == (4, 20) and torch.equal(prompts[:, :10], prompts[:, 10:])
    distinct = torch.stack([torch.randperm(50, generator=g)[:10] for _ in range(4)])
    distinct = torch.cat([distinct, distinct], dim=1)  # no token repeats in a copy
    second, first = copy_accuracy(Oracle(task.vocab_size), distinct)
    assert second == 1.0  # every token of the second copy, after its first
    assert first == (distinct[:, 1:10] == 0).float().mean().item()  # guesses 0


def test_recall_accuracy_counts_last_position_hits() -> None:
    task = RecallTask(n_content=20)
    prompts = torch.tensor([[20, 3, 7, 1, 2, 20, 3], [20, 5, 9, 1, 2, 20, 5]])
    assert recall_accuracy(Oracle(task.vocab_size), prompts, torch.tensor([7, 9])) == 1
    assert (
        recall_accuracy(Oracle(task.vocab_size), prompts, torch.tensor([7, 8])) == 0.5
    )


def test_induction_scores_on_a_hand_built_map() -> None:
    L = 4
    perfect = torch.zeros(1, 2, 2 * L, 2 * L)  # head 0 induction, head 1 uniform-ish
    for t in range(2 * L):
        perfect[0, 1, t, : t + 1] = 1 / (t + 1)
        perfect[0, 0, t, t - L + 1 if t >= L else 0] = 1.0
    scores = induction_scores([perfect], L)
    assert scores.shape == (1, 2)
    assert scores[0, 0] == 1.0 and scores[0, 1] < 0.3


def test_attention_by_distance_and_on_a_key() -> None:
    T = 5
    previous = torch.zeros(1, 1, T, T)  # every query looks one back (query 0: itself)
    previous[0, 0, 0, 0] = 1
    for t in range(1, T):
        previous[0, 0, t, t - 1] = 1
    by_distance = attention_by_distance(previous)
    assert by_distance[1] == 1.0 and by_distance[2:].sum() == 0
    assert by_distance[0] == 1 / T  # only query 0 looks at distance 0
    assert attention_on(previous, T - 2).tolist() == [[1.0]]
