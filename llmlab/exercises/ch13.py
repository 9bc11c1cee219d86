"""Checkers for chapter 13, supervised fine-tuning."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise
from llmlab.rlhf import task
from llmlab.rlhf.sft import sft_loss


def _layout(seed: int, n: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    prompts = task.sample_prompts(n, generator=g)
    responses = task.sample_demonstrations(prompts, generator=g)
    responses[0] = torch.tensor(task.encode("great <end> dull dull a a the the the"))
    responses[1] = torch.tensor(task.encode("fun fun fun fun fun fun fun fun fun"))
    return prompts, responses, task.render(prompts, responses)[1]


@exercise("assistant_mask")
def verify_assistant_mask(fn) -> None:
    """``assistant_mask(ids)``: (B, T) chat-layout ids -> (B, T) bool, True from
    the token after <assistant> up to and including the first <end>."""
    for seed in (0, 1):
        prompts, responses, want = _layout(seed)
        ids = torch.cat([prompts, responses], dim=1)
        got = fn(ids.clone())
        assert isinstance(got, torch.Tensor) and got.dtype == torch.bool, (
            "return a bool tensor"
        )
        assert got.shape == ids.shape, f"shape {tuple(got.shape)}, want {ids.shape}"
        for row in range(len(ids)):
            assert torch.equal(got[row], want[row]), (
                f"row {task.decode(ids[row])!r}: got {got[row].int().tolist()}, "
                f"want {want[row].int().tolist()} (a response without <end> runs "
                "to the last slot)"
            )


@exercise("masked_cross_entropy")
def verify_masked_cross_entropy(fn) -> None:
    """``masked_cross_entropy(logits, ids, mask)``: logits (B, T, V) from the model,
    mean −log p of ids[:, t] over the positions t where mask[:, t] is True."""
    g = torch.Generator().manual_seed(13)
    prompts, responses, mask = _layout(2)
    ids, mask = task.render(prompts, responses)
    logits = torch.randn(*ids.shape, len(task.VOCAB), generator=g) * 3

    class Fixed(torch.nn.Module):
        def forward(self, _ids):
            return logits

    want = sft_loss(Fixed(), (ids, mask))[0]
    got = fn(logits.clone(), ids.clone(), mask.clone())
    assert torch.is_tensor(got) and got.dim() == 0, "return a scalar tensor"
    assert torch.allclose(got, want, atol=1e-5), (
        f"got {got.item():.5f}, want {want.item():.5f}. Hint: the logits at t−1 "
        "predict the token at t."
    )


@exercise("repeat_rate")
def verify_repeat_rate(fn) -> None:
    """``repeat_rate(responses)``: (N, R) response ids -> fraction of all words
    (tokens before each <end>, <end> excluded) that repeat an earlier word of the
    same response."""
    _, responses, _ = _layout(3, n=40)
    words = total = 0
    for row in responses.tolist():
        seen = set()
        for w in row:
            if w == task.END:
                break
            total += 1
            words += w in seen
            seen.add(w)
    want = words / total
    got = float(fn(responses.clone()))
    assert abs(got - want) < 1e-6, f"got {got:.4f}, want {want:.4f}"
