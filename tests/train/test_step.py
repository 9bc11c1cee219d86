from __future__ import annotations

import pytest
import torch

from llmlab.data import sample_windows
from llmlab.train import (
    TrainConfig,
    build_optimizer,
    cross_entropy,
    next_token_loss,
    split_batch,
    train_step,
)
from tests.train.conftest import tiny_model


def test_gradient_accumulation_equals_one_big_batch(code_tokens) -> None:
    x, y = sample_windows(
        code_tokens,
        batch_size=8,
        seq_len=16,
        generator=torch.Generator().manual_seed(0),
    )
    config = TrainConfig(weight_decay=0.1, grad_clip=None)
    grads = []
    for k in (1, 4):
        model = tiny_model()
        opt = build_optimizer(model, config)
        batches = split_batch((x, y), k)
        assert len(batches) == k and batches[0][0].shape == (8 // k, 16)
        loss = train_step(model, batches, next_token_loss, opt)["loss"]
        grads.append(([p.grad.clone() for p in model.parameters()], loss, model))
    (g1, loss1, m1), (g4, loss4, m4) = grads
    assert loss1 == pytest.approx(loss4, rel=1e-5)
    for a, b in zip(g1, g4):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(m1.parameters(), m4.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_bf16_autocast_runs_the_matmuls_in_bf16(code_tokens) -> None:
    """The CUDA mixed-precision path, exercised with CPU autocast: the logits come
    out of the head matmul in bf16 (float32 without autocast), the loss stays close.
    """
    x, y = sample_windows(
        code_tokens,
        batch_size=4,
        seq_len=16,
        generator=torch.Generator().manual_seed(0),
    )
    dtypes, losses = [], []

    def recording_loss(model, batch):
        logits = model(batch[0])
        dtypes.append(logits.dtype)
        return cross_entropy(logits, batch[1]), {}

    for dtype in (None, torch.bfloat16):
        model = tiny_model()
        opt = build_optimizer(model, TrainConfig())
        metrics = train_step(model, [(x, y)], recording_loss, opt, autocast_dtype=dtype)
        losses.append(metrics["loss"])
    assert dtypes == [torch.float32, torch.bfloat16]
    assert losses[0] == pytest.approx(losses[1], abs=0.05)
    assert losses[0] != losses[1]  # bf16 rounding is visible in the loss


def test_split_batch_handles_tuples_dicts_and_refuses_uneven_rows() -> None:
    x = torch.arange(12).reshape(4, 3)
    parts = split_batch({"ids": x, "pair": (x, x + 1)}, 2)
    assert torch.equal(parts[1]["ids"], x[2:])
    assert torch.equal(parts[0]["pair"][1], x[:2] + 1)
    with pytest.raises(ValueError, match="4 rows does not split into 3"):
        split_batch(x, 3)
