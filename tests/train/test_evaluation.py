from __future__ import annotations

import pytest
import torch

from llmlab.train import cross_entropy, evaluate, evaluate_loss
from tests.train.conftest import tiny_model


def test_evaluate_is_deterministic_and_leaves_mode(code_tokens) -> None:
    model = tiny_model()
    model.train()
    a = evaluate(model, code_tokens, batch_size=4, seq_len=16, max_batches=3)
    b = evaluate(model, code_tokens, batch_size=4, seq_len=16, max_batches=3)
    assert a == b and model.training


def test_evaluate_loss_averages_any_objective_and_its_metrics() -> None:
    model = tiny_model()
    batches = [
        torch.randint(256, (2, 8), generator=torch.Generator().manual_seed(i))
        for i in range(3)
    ]

    def first_token_loss(model, ids):
        logits = model(ids)[:, 0]  # (B, V)
        return cross_entropy(logits, ids[:, 1]), {"rows": float(len(ids))}

    result = evaluate_loss(model, batches, first_token_loss)
    with torch.no_grad():
        want = sum(first_token_loss(model.eval(), b)[0].item() for b in batches) / 3
    assert result["loss"] == pytest.approx(want, rel=1e-6)
    assert result["rows"] == 2.0
