from __future__ import annotations

import pytest
import torch

from llmlab.data import sample_windows
from llmlab.train import TrainConfig, evaluate, fit, train_step
from llmlab.train.loop import build_optimizer
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
        loss, _ = train_step(model, list(zip(x.chunk(k), y.chunk(k))), opt)
        grads.append(([p.grad.clone() for p in model.parameters()], loss, model))
    (g1, loss1, m1), (g4, loss4, m4) = grads
    assert loss1 == pytest.approx(loss4, rel=1e-5)
    for a, b in zip(g1, g4):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(m1.parameters(), m4.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_fit_with_accumulation_matches_fit_without(code_tokens) -> None:
    runs = []
    for k in (1, 2):
        config = TrainConfig(
            max_steps=5, batch_size=4, grad_accum_steps=k, seq_len=16, warmup_steps=2
        )
        runs.append(fit(tiny_model(), code_tokens, config, progress=False).train_loss)
    assert runs[0] == pytest.approx(runs[1], rel=1e-4)


def test_a_tiny_run_learns(code_tokens) -> None:
    n = len(code_tokens)
    train, val = code_tokens[: n * 9 // 10], code_tokens[n * 9 // 10 :]
    config = TrainConfig(
        max_steps=60,
        batch_size=8,
        seq_len=32,
        lr=1e-2,
        min_lr=1e-3,
        warmup_steps=5,
        eval_interval=30,
        eval_batches=2,
    )
    history = fit(tiny_model(), train, config, val_tokens=val, progress=False)
    first, last = history.train_loss[0], sum(history.train_loss[-5:]) / 5
    assert first > 5.0  # about log(256): a random model guesses uniformly
    assert last < 2.0, f"loss fell only from {first:.2f} to {last:.2f}"
    assert history.val_step == [29, 59]
    assert history.val_loss[-1] < 2.0
    assert len(history.step) == len(history.lr) == len(history.grad_norm) == 60
    assert history.tokens_seen == 60 * 8 * 32


def test_evaluate_is_deterministic_and_leaves_mode(code_tokens) -> None:
    model = tiny_model()
    model.train()
    a = evaluate(model, code_tokens, batch_size=4, seq_len=16, max_batches=3)
    b = evaluate(model, code_tokens, batch_size=4, seq_len=16, max_batches=3)
    assert a == b and model.training


def test_same_seed_same_losses(code_tokens) -> None:
    config = TrainConfig(max_steps=3, batch_size=4, seq_len=16)
    a = fit(tiny_model(), code_tokens, config, progress=False).train_loss
    b = fit(tiny_model(), code_tokens, config, progress=False).train_loss
    assert a == b


def test_bf16_autocast_path_runs_and_stays_close(code_tokens) -> None:
    """The CUDA mixed-precision path, exercised with CPU autocast."""
    x, y = sample_windows(
        code_tokens,
        batch_size=4,
        seq_len=16,
        generator=torch.Generator().manual_seed(0),
    )
    losses = []
    for dtype in (None, torch.bfloat16):
        model = tiny_model()
        opt = build_optimizer(model, TrainConfig())
        losses.append(train_step(model, [(x, y)], opt, autocast_dtype=dtype)[0])
    assert losses[0] == pytest.approx(losses[1], abs=0.05)


def test_progress_bar_and_callback(code_tokens, capsys) -> None:
    seen = []
    config = TrainConfig(max_steps=3, batch_size=2, seq_len=8)
    fit(
        tiny_model(),
        code_tokens,
        config,
        progress=True,
        callback=lambda h: seen.append(len(h.step)),
    )
    assert seen == [1, 2, 3]
    assert "training" in capsys.readouterr().err


def test_cuda_only_switches_are_ignored_on_cpu(code_tokens) -> None:
    """compile and mixed precision activate on CUDA only; on CPU the run is plain."""
    plain = TrainConfig(max_steps=2, batch_size=2, seq_len=8, mixed_precision=False)
    switched = TrainConfig(
        max_steps=2, batch_size=2, seq_len=8, mixed_precision=True, compile=True
    )
    a = fit(tiny_model(), code_tokens, plain, progress=False, device="cpu")
    b = fit(tiny_model(), code_tokens, switched, progress=False, device="cpu")
    assert a.train_loss == b.train_loss
