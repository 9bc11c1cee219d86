"""Evaluation: the mean of a loss function over fixed batches, without gradients.

``evaluate_loss`` works for any objective (the same ``loss_fn`` a training step
uses); ``evaluate`` is the pretraining case: next-token loss over the first
windows of a held-out token stream, the same windows every call, so successive
measurements are comparable.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import torch
from torch import nn

from llmlab.data.windows import TokenArray, sequential_windows
from llmlab.train.loss import next_token_loss
from llmlab.train.step import Batch, LossFn
from llmlab.utils.device import autocast_context


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    batches: Iterable[Batch],
    loss_fn: LossFn = next_token_loss,
    *,
    autocast_dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """``{"loss", **metrics}`` averaged over ``batches`` in eval mode.

    Tensors in a batch are moved to ``device`` when given. The model's
    train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    try:
        for batch in batches:
            batch = _to(batch, device)
            context = (
                autocast_context(torch.device(device or "cpu"), autocast_dtype)
                if autocast_dtype is not None
                else contextlib.nullcontext()
            )
            with context:
                loss, metrics = loss_fn(model, batch)
            for name, value in {"loss": loss.item(), **metrics}.items():
                sums[name] = sums.get(name, 0.0) + float(value)
            count += 1
    finally:
        model.train(was_training)
    if not count:
        raise ValueError("evaluate_loss got no batches")
    return {name: total / count for name, total in sums.items()}


def evaluate(
    model: nn.Module,
    tokens: TokenArray,
    *,
    batch_size: int,
    seq_len: int,
    max_batches: int | None = None,
    autocast_dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> float:
    """Mean next-token loss over the first windows of ``tokens`` (same every call).

    Batches of equal size are averaged equally; a smaller last batch counts by its
    number of windows.
    """
    if device is None:
        device = next(model.parameters()).device
    total, count = 0.0, 0
    for x, y in sequential_windows(
        tokens, batch_size=batch_size, seq_len=seq_len, max_batches=max_batches
    ):
        loss = evaluate_loss(
            model, [(x, y)], autocast_dtype=autocast_dtype, device=device
        )["loss"]
        total, count = total + loss * len(x), count + len(x)
    return total / count


def _to(batch: Batch, device) -> Batch:
    if device is None:
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: _to(value, device) for key, value in batch.items()}
    return batch
