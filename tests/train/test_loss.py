from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from llmlab.train.loss import cross_entropy, cross_entropy_by_hand, perplexity


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 11), (1, 1, 2)])
def test_cross_entropy_equals_torch(shape, generator) -> None:
    logits = torch.randn(*shape, generator=generator)
    targets = torch.randint(shape[-1], shape[:-1], generator=generator)
    want = F.cross_entropy(logits.reshape(-1, shape[-1]), targets.reshape(-1))
    torch.testing.assert_close(cross_entropy(logits, targets), want)
    torch.testing.assert_close(cross_entropy_by_hand(logits, targets), want)


def test_by_hand_matches_torch_for_large_logits_and_gradients(generator) -> None:
    logits = (torch.randn(4, 6, 50, generator=generator) * 1e4).requires_grad_()
    targets = torch.randint(50, (4, 6), generator=generator)
    mine = cross_entropy_by_hand(logits, targets)
    (grad_mine,) = torch.autograd.grad(mine, logits)
    theirs = F.cross_entropy(logits.reshape(-1, 50), targets.reshape(-1))
    (grad_theirs,) = torch.autograd.grad(theirs, logits)
    assert torch.isfinite(mine)
    torch.testing.assert_close(mine, theirs)
    torch.testing.assert_close(grad_mine, grad_theirs)


def test_uniform_logits_give_log_vocab() -> None:
    V = 64
    loss = cross_entropy_by_hand(torch.zeros(3, V), torch.tensor([0, 5, 63]))
    assert loss.item() == pytest.approx(math.log(V))
    assert perplexity(loss.item()) == pytest.approx(V)


def test_bf16_logits_give_float32_loss(generator) -> None:
    logits = torch.randn(2, 3, 10, generator=generator).to(torch.bfloat16)
    targets = torch.zeros(2, 3, dtype=torch.int64)
    assert cross_entropy(logits, targets).dtype == torch.float32


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3, 5\).*\(2, 4\)"):
        cross_entropy(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.int64))
