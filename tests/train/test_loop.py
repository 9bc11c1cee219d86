from __future__ import annotations

import pytest
import torch

from llmlab.train import (
    NonFiniteError,
    TrainConfig,
    build_optimizer,
    cross_entropy,
    fit,
    next_token_loss,
)
from llmlab.train import checkpoint as ckpt
from llmlab.train.loop import input_tokens
from tests.train.conftest import tiny_model


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


def test_same_seed_same_losses(code_tokens) -> None:
    config = TrainConfig(max_steps=3, batch_size=4, seq_len=16)
    a = fit(tiny_model(), code_tokens, config, progress=False).train_loss
    b = fit(tiny_model(), code_tokens, config, progress=False).train_loss
    assert a == b


def test_any_objective_trains_and_its_metrics_are_logged() -> None:
    """A loss_fn of the SFT/RM shape on a callable batch source (not a token stream).

    The objective here: predict a fixed target token (7) everywhere; its accuracy
    metric is logged per step and rises to 1.
    """

    def draw(generator):
        return {"ids": torch.randint(256, (4, 8), generator=generator)}

    def always_seven(model, batch):
        logits = model(batch["ids"])  # (B, T, V)
        target = torch.full(batch["ids"].shape, 7)
        accuracy = (logits.argmax(-1) == target).float().mean().item()
        return cross_entropy(logits, target), {"accuracy": accuracy}

    config = TrainConfig(max_steps=30, batch_size=4, grad_accum_steps=2, lr=1e-2)
    history = fit(tiny_model(), draw, config, loss_fn=always_seven, progress=False)
    assert set(history.metrics) == {"loss", "grad_norm", "accuracy"}
    assert history.metrics["loss"] == history.train_loss
    assert history.metrics["accuracy"][0] < 0.2
    assert history.metrics["accuracy"][-1] == 1.0
    assert history.tokens_seen == 30 * 4 * 8  # counted from the drawn batches


@pytest.mark.parametrize(
    "batch, want",
    [
        (torch.zeros(3, 5), 15),
        ((torch.zeros(2, 4), torch.zeros(2, 4)), 8),  # inputs, not targets too
        ({"mask": torch.zeros(9), "input_ids": torch.zeros(2, 3)}, 6),
        ({"ids": torch.zeros(4, 4)}, 16),
    ],
)
def test_input_tokens_counts_the_inputs(batch, want) -> None:
    assert input_tokens(batch) == want


def test_input_tokens_refuses_what_it_cannot_count() -> None:
    with pytest.raises(TypeError, match="str batch"):
        input_tokens("not a batch")


def test_fit_reads_no_model_config_and_needs_a_window(code_tokens) -> None:
    class Wrapped(torch.nn.Module):  # a wrapper without .config, like DDP
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids):
            return self.inner(ids)

    config = TrainConfig(max_steps=2, batch_size=2)
    with pytest.raises(ValueError, match="seq_len"):
        fit(Wrapped(tiny_model()), code_tokens, config, progress=False)
    history = fit(Wrapped(tiny_model()), code_tokens, config, seq_len=8, progress=False)
    plain = fit(tiny_model(), code_tokens, config, seq_len=8, progress=False)
    assert history.train_loss == plain.train_loss


def test_a_non_finite_step_stops_naming_it_and_keeps_the_checkpoint(
    tmp_path, code_tokens
) -> None:
    def nan_at_step_three(model, batch):
        loss, metrics = next_token_loss(model, batch)
        calls.append(1)
        return (loss * float("nan") if len(calls) == 4 else loss), metrics

    calls: list[int] = []
    config = TrainConfig(max_steps=6, batch_size=2, seq_len=8, checkpoint_interval=1)
    model = tiny_model()
    with pytest.raises(NonFiniteError, match=r"step 3: loss nan.*learning rate"):
        fit(
            model,
            code_tokens,
            config,
            loss_fn=nan_at_step_three,
            progress=False,
            checkpoint_dir=tmp_path,
        )
    assert all(torch.isfinite(p).all() for p in model.parameters())
    saved = tiny_model(seed=3)
    assert ckpt.load(tmp_path, model=saved)["step"] == 3
    for a, b in zip(saved.parameters(), model.parameters()):
        assert torch.equal(a, b)  # the NaN step changed nothing


def test_torch_adamw_by_default_and_the_teaching_one_agrees(code_tokens) -> None:
    config = TrainConfig(max_steps=5, batch_size=2, seq_len=8, warmup_steps=1)
    opt = build_optimizer(tiny_model(), config)
    assert type(opt) is torch.optim.AdamW and opt.defaults["fused"]
    model = tiny_model()
    teaching = build_optimizer(model, config, teaching=True)
    ours = fit(model, code_tokens, config, optimizer=teaching, progress=False)
    theirs = fit(tiny_model(), code_tokens, config, progress=False)
    assert ours.train_loss == pytest.approx(theirs.train_loss, abs=1e-5)


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


def test_compile_runs_every_step_and_evaluation_through_the_compiled_module(
    code_tokens, tmp_path, monkeypatch
) -> None:
    """TrainConfig.compile's plumbing, on the CPU: the real compiler is swapped for
    dynamo with its "eager" backend (same graph capture, no code generation) that
    counts what it captured, and compiling is allowed on the CPU for this test."""
    from torch._dynamo.testing import CompileCounter

    from llmlab.train import loop

    counter, wrapped = CompileCounter(), []
    real_compile = torch.compile

    def counting_compile(model, **kwargs):
        wrapped.append(model)
        return real_compile(model, backend=counter)

    monkeypatch.setattr(loop, "COMPILED_ON", ("cuda", "cpu"))
    monkeypatch.setattr(torch, "compile", counting_compile)
    base = dict(max_steps=3, batch_size=2, seq_len=8, eval_interval=3, eval_batches=1)
    n = len(code_tokens) * 9 // 10
    data = dict(val_tokens=code_tokens[n:], progress=False, device="cpu")
    eager = fit(tiny_model(), code_tokens[:n], TrainConfig(**base), **data)
    assert not wrapped and counter.frame_count == 0
    model = tiny_model()
    compiled = fit(
        model,
        code_tokens[:n],
        TrainConfig(**base, compile=True),
        checkpoint_dir=tmp_path,
        **data,
    )
    assert wrapped == [model]  # compiled once, the model itself
    assert counter.frame_count >= 2  # training and (no-grad) evaluation captured
    assert compiled.train_loss == pytest.approx(eager.train_loss, abs=1e-5)
    assert compiled.val_loss == pytest.approx(eager.val_loss, abs=1e-5)
    # The checkpoint holds the plain model's weights (no torch.compile prefix).
    reloaded = tiny_model(seed=1)
    ckpt.load_checkpoint(tmp_path, modules={"model": reloaded})
    for name, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], value), name


@pytest.mark.parametrize("native", [True, False])
def test_cpu_bf16_autocasts_only_where_the_cpu_has_bf16_matmuls(
    monkeypatch, native
) -> None:
    """cpu_bf16 runs the loss under bf16 autocast on a CPU with native bf16 and
    leaves it in fp32 elsewhere (where bf16 would only be emulated, slowly)."""
    import llmlab.train.loop as loop

    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: native)
    seen = []

    def loss_fn(model, batch):
        seen.append(
            torch.get_autocast_dtype("cpu")
            if torch.is_autocast_enabled("cpu")
            else None
        )
        logits = model(batch["ids"])
        seen.append(logits.dtype)
        return cross_entropy(logits.float(), batch["ids"]), {}

    def draw(generator):
        return {"ids": torch.randint(256, (2, 8), generator=generator)}

    config = TrainConfig(max_steps=1, batch_size=2, cpu_bf16=True)
    fit(tiny_model(), draw, config, loss_fn=loss_fn, progress=False, device="cpu")
    want = torch.bfloat16 if native else None
    assert seen == [want, want or torch.float32]
