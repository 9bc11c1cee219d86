"""The training loop: sample a batch, predict, score, backpropagate, clip, step.

``fit`` repeats ``train_step`` ``max_steps`` times, sets the learning rate from the
schedule before each step, measures the validation loss now and then, records
everything in a ``History`` and (optionally) writes checkpoints it can resume from.
The same code runs on a laptop CPU and on a GPU: on CUDA it can add bf16 autocast
and ``torch.compile``, both switched in ``TrainConfig``.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from llmlab.data.windows import TokenArray, sample_windows, sequential_windows
from llmlab.train import checkpoint as ckpt
from llmlab.train.clipping import clip_grad_norm, global_grad_norm
from llmlab.train.config import TrainConfig
from llmlab.train.history import History
from llmlab.train.loss import cross_entropy
from llmlab.train.optim import AdamW, param_groups, set_lr
from llmlab.train.schedule import lr_at
from llmlab.utils.device import autocast_context


def build_optimizer(model: nn.Module, config: TrainConfig) -> AdamW:
    groups = param_groups(model, weight_decay=config.weight_decay)
    return AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def train_step(
    model: nn.Module,
    micro_batches: list[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    *,
    grad_clip: float | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> tuple[float, float]:
    """One optimizer step over ``k`` micro-batches (x, y), each (B/k, T) int64.

    Each micro-batch loss is divided by ``k`` before backward, so the summed
    gradient is the gradient of the mean loss over all B windows: accumulation
    over k micro-batches equals one big batch. ``autocast_dtype`` (e.g. bf16)
    runs the forward pass under autocast. Returns (loss, grad_norm).
    """
    optimizer.zero_grad(set_to_none=True)
    k, total = len(micro_batches), 0.0
    for x, y in micro_batches:
        with _autocast(x.device, autocast_dtype):
            loss = cross_entropy(model(x), y) / k  # predict, then score
        loss.backward()  # backpropagate: gradients add up across micro-batches
        total += loss.item()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    norm = clip_grad_norm(params, grad_clip) if grad_clip else global_grad_norm(params)
    optimizer.step()
    return total, float(norm)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    tokens: TokenArray,
    *,
    batch_size: int,
    seq_len: int,
    max_batches: int | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> float:
    """Mean next-token loss over the first windows of ``tokens`` (same every call)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for x, y in sequential_windows(
        tokens, batch_size=batch_size, seq_len=seq_len, max_batches=max_batches
    ):
        x, y = x.to(device), y.to(device)
        with _autocast(device, autocast_dtype):
            total += cross_entropy(model(x), y).item() * len(x)
        count += len(x)
    model.train(was_training)
    return total / count


def fit(
    model: nn.Module,
    train_tokens: TokenArray,
    config: TrainConfig,
    *,
    val_tokens: TokenArray | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train ``model`` on windows of ``train_tokens`` (1-D ids), ``max_steps`` steps.

    ``generator`` draws the batches (default: seeded with ``config.seed``). With
    ``checkpoint_dir``, a checkpoint is written every ``config.checkpoint_interval``
    steps and at the end; with ``resume=True`` a checkpoint found there is loaded
    first and training continues from its step, reproducing the uninterrupted
    run's losses (this also restores torch's global RNG state, which dropout
    draws from). ``callback(history)`` runs after every step.
    """
    device = torch.device(device) if device is not None else _device_of(model)
    model.to(device).train()
    seq_len = config.seq_len or model.config.context_length
    generator = generator or torch.Generator().manual_seed(config.seed)
    optimizer = build_optimizer(model, config)
    history = History()
    if resume and checkpoint_dir is not None and ckpt.exists(checkpoint_dir):
        history = ckpt.resume(
            checkpoint_dir,
            model=model,
            optimizer=optimizer,
            generator=generator,
            config=config,
        )
    dtype = torch.bfloat16 if config.mixed_precision and device.type == "cuda" else None
    forward = _maybe_compile(model, config, device)
    start = len(history.step)
    bar = tqdm(
        range(start, config.max_steps),
        disable=not progress,
        desc="training",
        initial=start,
        total=config.max_steps,
    )
    for step in bar:
        began = time.perf_counter()
        lr = lr_at(
            step,
            lr=config.lr,
            min_lr=config.min_lr,
            warmup_steps=config.warmup_steps,
            max_steps=config.max_steps,
        )
        set_lr(optimizer, lr)
        batches = _micro_batches(train_tokens, config, seq_len, generator, device)
        loss, norm = train_step(
            forward,
            batches,
            optimizer,
            grad_clip=config.grad_clip,
            autocast_dtype=dtype,
        )
        _record(history, step, loss, lr, norm, config.batch_size * seq_len)
        last = step + 1 == config.max_steps
        if val_tokens is not None and ((step + 1) % config.eval_interval == 0 or last):
            history.val_step.append(step)
            history.val_loss.append(
                evaluate(
                    forward,
                    val_tokens,
                    batch_size=config.micro_batch_size,
                    seq_len=seq_len,
                    max_batches=config.eval_batches,
                    autocast_dtype=dtype,
                )
            )
        history.seconds += time.perf_counter() - began
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}")
        if checkpoint_dir is not None and _checkpoint_due(config, step, last):
            ckpt.save(
                checkpoint_dir,
                model=model,
                optimizer=optimizer,
                config=config,
                history=history,
                generator=generator,
            )
        if callback is not None:
            callback(history)
    bar.close()
    return history


def _micro_batches(tokens, config: TrainConfig, seq_len: int, generator, device):
    x, y = sample_windows(
        tokens,
        batch_size=config.batch_size,
        seq_len=seq_len,
        generator=generator,
        device=device,
    )
    m = config.micro_batch_size
    return list(zip(x.split(m), y.split(m)))  # k × ((B/k, T), (B/k, T))


def _record(
    history: History, step: int, loss: float, lr: float, norm: float, tokens: int
) -> None:
    history.step.append(step)
    history.train_loss.append(loss)
    history.lr.append(lr)
    history.grad_norm.append(norm)
    history.tokens_seen += tokens


def _checkpoint_due(config: TrainConfig, step: int, last: bool) -> bool:
    every = config.checkpoint_interval
    return last or (every is not None and (step + 1) % every == 0)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return autocast_context(device, dtype)


def _maybe_compile(model: nn.Module, config: TrainConfig, device: torch.device):
    if config.compile and device.type == "cuda":
        return torch.compile(model)
    return model
