import copy

import pytest
import torch

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.sft import SFTConfig, sft_loss, train_sft


def _data(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    prompts = task.sample_prompts(n, generator=g)
    return task.render(prompts, task.sample_demonstrations(prompts, generator=g))


def test_sft_loss_is_cross_entropy_on_assistant_tokens_only() -> None:
    torch.manual_seed(0)
    model = GPT(task.MODEL_CONFIG).eval()
    ids, mask = _data(4)
    loss, _ = sft_loss(model, (ids, mask))
    logits = model(ids)
    want, count = 0.0, 0
    for b in range(4):
        for t in range(1, ids.shape[1]):
            if mask[b, t]:
                want -= torch.log_softmax(logits[b, t - 1], -1)[ids[b, t]].item()
                count += 1
    assert loss.item() == pytest.approx(want / count, rel=1e-5)


class _FixedLogits(torch.nn.Module):
    """A "model" whose logits are a leaf tensor, to read the loss's gradient."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(logits)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.logits


def test_sft_gradient_reaches_only_positions_that_predict_assistant_tokens() -> None:
    ids, mask = _data(3)
    g = torch.Generator().manual_seed(0)
    model = _FixedLogits(torch.randn(*ids.shape, len(task.VOCAB), generator=g))
    sft_loss(model, (ids, mask))[0].backward()
    touched = model.logits.grad.abs().sum(-1) > 0  # (B, T)
    predicts_assistant = torch.zeros_like(mask)
    predicts_assistant[:, :-1] = mask[:, 1:]  # logits at t predict token t + 1
    assert torch.equal(touched, predicts_assistant)
    assert not touched[:, :2].any()  # <user> and the topic predict prompt tokens


def test_sft_learns_the_demonstrations() -> None:
    torch.manual_seed(0)
    model = GPT(task.MODEL_CONFIG)
    ids, mask = _data(512)
    held_ids, held_mask = _data(256, seed=1)
    before = sft_loss(copy.deepcopy(model).eval(), (held_ids, held_mask))[0].item()
    config = SFTConfig(steps=60, batch_size=32)
    train_sft(model, ids, mask, config, generator=torch.Generator().manual_seed(2))
    after = sft_loss(model.eval(), (held_ids, held_mask))[0].item()
    assert after < before - 0.5, (before, after)
