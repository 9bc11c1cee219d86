"""The speculative acceptance rule on its own: its output follows the target."""

import torch

from llmlab.generate.speculative import verify

# Critical value of chi-square with 5 degrees of freedom at significance 0.001.
CHI2_5DF_0001 = 20.515


def _chi2(counts: torch.Tensor, probs: torch.Tensor) -> float:
    n = counts.sum()
    return float(((counts - n * probs) ** 2 / (n * probs)).sum())


def test_first_token_is_distributed_as_the_target() -> None:
    p = torch.tensor([[0.05, 0.40, 0.10, 0.20, 0.15, 0.10]] * 2)
    q = torch.tensor([[0.30, 0.10, 0.30, 0.10, 0.10, 0.10]])
    g = torch.Generator().manual_seed(0)
    n = 8_000
    drafts = torch.multinomial(q[0], n, replacement=True, generator=g)
    counts = torch.zeros(6)
    accepted = 0
    for d in drafts:
        out = verify(p, q, d.view(1), greedy=False, generator=g)
        counts[out[0]] += 1
        accepted += len(out) == 2
    assert _chi2(counts, p[0]) < CHI2_5DF_0001
    # acceptance probability is sum(min(p, q)) (Leviathan et al., section 3.3)
    assert abs(accepted / n - float(torch.minimum(p[0], q[0]).sum())) < 0.02
    # and the draft's own distribution is far from the target's: the test has power
    draft_counts = torch.bincount(drafts, minlength=6).float()
    assert _chi2(draft_counts, p[0]) > 100 * CHI2_5DF_0001


def test_greedy_accepts_while_the_draft_matches_the_arg_max() -> None:
    p = torch.eye(5)[[2, 4, 1, 0]]  # target's arg max: 2, 4, 1, then bonus 0
    q = torch.full((3, 5), 0.2)
    assert verify(p, q, torch.tensor([2, 4, 1]), greedy=True) == [2, 4, 1, 0]
    assert verify(p, q, torch.tensor([2, 3, 1]), greedy=True) == [2, 4]
    assert verify(p, q, torch.tensor([0, 4, 1]), greedy=True) == [2]
