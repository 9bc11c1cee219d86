"""One optimizer step for any objective: score micro-batches, backpropagate, clip, step.

The objective is a function ``loss_fn(model, batch) -> (loss, metrics)``: the
scalar loss to minimise and a dict of floats worth logging. Next-token loss
(``llmlab.train.loss.next_token_loss``) is one such function; SFT, a reward model,
DPO and PPO bring their own. A step sums the gradients of ``k`` micro-batches, each
loss divided by ``k``, so accumulating ``k`` micro-batches of equal size equals one
big batch. A wrapped model (DDP) skips its gradient all-reduce on all but the last
micro-batch (``no_sync``), which changes the speed, not the result.

Before the optimizer moves anything, the loss and the global gradient norm are
checked: a NaN or infinity raises ``NonFiniteError`` and leaves the weights as they
were, so a diverged step never reaches the model or a checkpoint.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from llmlab.train.clipping import clip_grad_norm, global_grad_norm
from llmlab.utils.device import autocast_context

Batch = Any
"""Whatever a loss function takes: (x, y) for next-token loss, a dict for SFT..."""
LossFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, dict[str, float]]]


class NonFiniteError(FloatingPointError):
    """The loss or the gradient norm of a step is NaN or infinite."""


def train_step(
    model: nn.Module,
    micro_batches: Sequence[Batch],
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    *,
    grad_clip: float | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """One optimizer step over ``k = len(micro_batches)`` micro-batches.

    Each micro-batch loss is divided by ``k`` before backward, so the summed
    gradient is the gradient of the mean loss. ``autocast_dtype`` (e.g. bf16) runs
    the forward pass under autocast. Returns ``{"loss", "grad_norm", **metrics}``,
    the loss and every metric averaged over the micro-batches.
    """
    if not micro_batches:
        raise ValueError("train_step needs at least one micro-batch")
    optimizer.zero_grad(set_to_none=True)
    k, logged = len(micro_batches), {"loss": 0.0}
    for i, batch in enumerate(micro_batches):
        device = _device_of(batch, model)
        with _no_sync(model, last=i == k - 1):
            with _autocast(device, autocast_dtype):
                loss, metrics = loss_fn(model, batch)
            (loss / k).backward()  # gradients add up across micro-batches
        for name, value in {"loss": loss.item(), **metrics}.items():
            logged[name] = logged.get(name, 0.0) + float(value) / k
    params = [p for group in optimizer.param_groups for p in group["params"]]
    norm = clip_grad_norm(params, grad_clip) if grad_clip else global_grad_norm(params)
    logged["grad_norm"] = float(norm)
    if not (math.isfinite(logged["loss"]) and math.isfinite(logged["grad_norm"])):
        optimizer.zero_grad(set_to_none=True)  # the weights stay as they were
        raise NonFiniteError(
            f"loss {logged['loss']} or gradient norm {logged['grad_norm']} is not "
            "finite. Usual causes: a learning rate too high (lower --lr or add "
            "warmup), no gradient clipping, fp16 overflow, or bad input ids/data"
        )
    optimizer.step()
    return logged


def split_batch(batch: Batch, k: int) -> list[Batch]:
    """Cut a batch into ``k`` micro-batches along dim 0 of every tensor in it.

    Works for a tensor, a tuple/list of tensors or a dict of them:
    ``split_batch((x, y), 2) -> [(x[:B/2], y[:B/2]), (x[B/2:], y[B/2:])]``.
    """
    if k == 1:
        return [batch]
    if isinstance(batch, torch.Tensor):
        if batch.shape[0] % k:
            raise ValueError(f"batch of {batch.shape[0]} rows does not split into {k}")
        return list(batch.chunk(k))
    if isinstance(batch, (tuple, list)):
        parts = [split_batch(item, k) for item in batch]
        return [type(batch)(items) for items in zip(*parts)]
    if isinstance(batch, dict):
        parts = {key: split_batch(value, k) for key, value in batch.items()}
        return [{key: parts[key][i] for key in batch} for i in range(k)]
    raise TypeError(f"cannot split a batch of type {type(batch).__name__}")


def _device_of(batch: Batch, model: nn.Module) -> torch.device:
    if isinstance(batch, torch.Tensor):
        return batch.device
    items = batch.values() if isinstance(batch, dict) else batch
    if isinstance(items, (tuple, list)) or isinstance(batch, dict):
        for item in items:
            if isinstance(item, torch.Tensor):
                return item.device
    return next(model.parameters()).device


def _no_sync(model: nn.Module, *, last: bool):
    if not last and hasattr(model, "no_sync"):
        return model.no_sync()  # DDP: all-reduce once, after the last micro-batch
    return contextlib.nullcontext()


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return autocast_context(device, dtype)
