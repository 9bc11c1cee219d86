"""The training loop: draw a batch, take a step, evaluate and checkpoint on cadence.

``fit`` repeats ``train_step`` ``max_steps`` times, sets the learning rate from the
schedule before each step, measures the validation loss now and then, records
every metric in a ``History`` and writes checkpoints it can resume from. The data
is a 1-D token stream (pretraining: random windows, next-token loss) or any
callable ``draw(generator) -> batch`` with a matching ``loss_fn``.

The model may be wrapped (DDP, FSDP2): ``fit`` never reads the model's config
(the window length comes from ``TrainConfig.seq_len`` or the ``seq_len``
argument). In a process group every rank draws the same global batch offsets and
keeps its own slice (see ``sample_windows``), so ranks see different windows
and together exactly the batch of a single process; metrics are averaged over
ranks, and rank 0 writes checkpoints. The same code runs on a laptop CPU and a
GPU; on CUDA it can add bf16 autocast and ``torch.compile``, and on a CPU with
native bf16 matmuls bf16 autocast (``TrainConfig.cpu_bf16``).

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from llmlab.data.windows import TokenArray, sample_windows
from llmlab.train import checkpoint as ckpt
from llmlab.train.cadence import CheckpointClock, eval_due
from llmlab.train.checkpoint_state import unwrap
from llmlab.train.config import TrainConfig
from llmlab.train.evaluation import _to, evaluate
from llmlab.train.history import History
from llmlab.train.loss import next_token_loss
from llmlab.train.optim import AdamW, param_groups, set_lr
from llmlab.train.schedule import lr_at
from llmlab.train.step import Batch, LossFn, NonFiniteError, split_batch, train_step

BatchSource = Callable[[torch.Generator], Batch]
"""``draw(generator) -> batch``: this rank's batch for one step (all micro-batches)."""


def build_optimizer(
    model: nn.Module, config: TrainConfig, *, teaching: bool = False
) -> torch.optim.Optimizer:
    """AdamW over ``param_groups``: PyTorch's (fused, else foreach) by default,
    llmlab's readable ``AdamW`` with ``teaching=True`` (same steps, slower)."""
    groups = param_groups(model, weight_decay=config.weight_decay)
    kwargs = dict(lr=config.lr, betas=config.betas, eps=config.eps)
    if teaching:
        return AdamW(groups, **kwargs)
    try:
        return torch.optim.AdamW(groups, fused=True, **kwargs)
    except (RuntimeError, ValueError):  # a device or dtype without fused kernels
        return torch.optim.AdamW(groups, foreach=True, **kwargs)


def fit(
    model: nn.Module,
    data: TokenArray | BatchSource,
    config: TrainConfig,
    *,
    loss_fn: LossFn = next_token_loss,
    seq_len: int | None = None,
    val_tokens: TokenArray | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    callback: Callable[[History], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> History:
    """Train ``model`` for ``config.max_steps`` steps; returns the History.

    ``data``: a 1-D token array (windows of ``config.seq_len or seq_len`` tokens)
    or a ``BatchSource``. ``generator`` draws the batches (default: seeded with
    ``config.seed``, the same on every rank). ``optimizer`` defaults to
    ``build_optimizer``. With ``checkpoint_dir``, the directory is locked and
    checked before the first step and checkpoints are written on the
    ``CheckpointClock``; ``resume=True`` continues from one found there,
    reproducing the uninterrupted run's losses (torch's global RNG, which dropout
    draws from, is restored too). ``callback(history)`` runs after every step;
    when ``should_stop()`` returns True after a step, a checkpoint is saved and
    ``fit`` returns early. A NaN/inf loss or gradient raises ``NonFiniteError``
    naming the step, before the weights or any checkpoint change.
    """
    rank, world = _rank_and_world()
    device = _place(model, device)
    generator = generator or torch.Generator().manual_seed(config.seed)
    draw, count_tokens, window = _source(data, config, seq_len, rank, world, device)
    optimizer = optimizer or build_optimizer(unwrap(model), config)
    lock = _lock(checkpoint_dir) if checkpoint_dir is not None and rank == 0 else None
    try:
        history = History()
        if resume and checkpoint_dir is not None and ckpt.exists(checkpoint_dir):
            history = ckpt.resume(
                checkpoint_dir,
                model=unwrap(model),
                optimizer=optimizer,
                generator=generator,
                config=config,
            )
        run = _Run(model, config, optimizer, generator, checkpoint_dir, lock)
        model.train()
        return run.loop(
            history,
            draw,
            loss_fn,
            count_tokens,
            evaluation=(val_tokens, window, device),
            progress=progress and rank == 0,
            callback=callback,
            should_stop=should_stop,
        )
    finally:
        if lock is not None:
            lock.release()


class _Run:
    """The state of one ``fit`` call, so each phase of a step is a short method."""

    def __init__(self, model, config, optimizer, generator, checkpoint_dir, lock):
        self.model, self.config, self.optimizer = model, config, optimizer
        self.generator, self.checkpoint_dir, self.lock = generator, checkpoint_dir, lock
        self.device = device = next(model.parameters()).device
        self.dtype = autocast_dtype(config, device)
        self.forward = _maybe_compile(model, config, device)
        self.clock = CheckpointClock(config)

    def loop(self, history, draw, loss_fn, count_tokens, *, evaluation, **hooks):
        config, start = self.config, len(history.step)
        steps = range(start, config.max_steps)
        bar = tqdm(
            steps,
            disable=not hooks["progress"],
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
            set_lr(self.optimizer, lr)
            batch = draw(self.generator)
            metrics = self.step(
                step, split_batch(batch, config.grad_accum_steps), loss_fn
            )
            history.record(step, metrics, lr)
            history.tokens_seen += count_tokens(batch)
            self.maybe_evaluate(history, step, *evaluation)
            history.seconds += time.perf_counter() - began
            bar.set_postfix(loss=f"{metrics['loss']:.3f}", lr=f"{lr:.2e}")
            stop, save = self.decide(step, hooks["should_stop"])
            if save:
                self.save(history)
            if hooks["callback"] is not None:
                hooks["callback"](history)
            if stop:
                break
        bar.close()
        return history

    def decide(self, step: int, should_stop) -> tuple[bool, bool]:
        """(stop, save) after ``step``, the same on every rank: a sharded save is
        a collective, and the minutes clock or a signal may differ between ranks."""
        stop = should_stop is not None and bool(should_stop())
        save = self.checkpoint_dir is not None and (stop or self.clock.due(step))
        if dist.is_available() and dist.is_initialized():
            flags = torch.tensor([float(stop), float(save)], device=self.device)
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)  # any rank's yes counts
            stop, save = bool(flags[0]), bool(flags[1])
        return stop, save

    def step(self, step: int, micro_batches: list, loss_fn: LossFn) -> dict:
        try:
            metrics = train_step(
                self.forward,
                micro_batches,
                loss_fn,
                self.optimizer,
                grad_clip=self.config.grad_clip,
                autocast_dtype=self.dtype,
            )
        except NonFiniteError as error:
            kept = f"; the checkpoint in {self.checkpoint_dir} is kept" * bool(
                self.checkpoint_dir
            )
            raise NonFiniteError(f"step {step}: {error}{kept}") from None
        return _mean_over_ranks(metrics, self.device)

    def maybe_evaluate(self, history, step, val_tokens, seq_len, device) -> None:
        if val_tokens is None or not eval_due(step, self.config):
            return
        history.val_step.append(step)
        history.val_loss.append(
            evaluate(
                self.forward,
                val_tokens,
                batch_size=self.config.micro_batch_size,
                seq_len=seq_len,
                max_batches=self.config.eval_batches,
                autocast_dtype=self.dtype,
                device=device,
            )
        )

    def save(self, history: History) -> None:
        ckpt.save_checkpoint(
            self.checkpoint_dir,
            modules={"model": self.model},
            optimizers={"model": self.optimizer},
            step=len(history.step),
            train_config=self.config,
            history=history,
            generator=self.generator,
            lock=self.lock,
        )
        self.clock.saved()


def input_tokens(batch: Batch) -> int:
    """The input token ids in a batch: a tensor's elements; the first item of a
    tuple or list (the inputs of ``(inputs, targets)``); a dict's ``"input_ids"``
    (else its first value)."""
    if isinstance(batch, torch.Tensor):
        return batch.numel()
    if isinstance(batch, (tuple, list)) and batch:
        return input_tokens(batch[0])
    if isinstance(batch, dict) and batch:
        return input_tokens(batch.get("input_ids", next(iter(batch.values()))))
    raise TypeError(f"cannot count the tokens of a {type(batch).__name__} batch")


def _source(data, config: TrainConfig, seq_len, rank: int, world: int, device):
    """(draw, count, window length) for a token stream or a source; ``count(batch)``
    gives the tokens one step processed on all ranks together."""
    if not isinstance(data, (np.ndarray, torch.Tensor)):
        if not callable(data):
            raise TypeError(
                f"data must be a 1-D token array or a callable draw(generator), "
                f"got {type(data).__name__}"
            )

        def count(batch) -> int:  # every rank draws its own share
            return world * input_tokens(batch)

        return (lambda g: _to(data(g), device)), count, config.seq_len or seq_len
    window = config.seq_len or seq_len
    if window is None or isinstance(window, bool) or not isinstance(window, int):
        raise ValueError(
            "set TrainConfig.seq_len or pass seq_len= (fit does not read the model)"
        )

    def draw(generator: torch.Generator):
        return sample_windows(
            data,
            batch_size=config.batch_size,
            seq_len=window,
            generator=generator,
            device=device,
            rank=rank,
            world_size=world,
        )  # (B/W, T) each

    return draw, (lambda batch: config.batch_size * window), window


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _mean_over_ranks(metrics: dict[str, float], device) -> dict[str, float]:
    """Average each metric over the process group (a no-op in one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return metrics
    names = sorted(metrics)
    values = torch.tensor([metrics[n] for n in names], device=device)
    dist.all_reduce(values)
    world = dist.get_world_size()
    return {n: float(v) / world for n, v in zip(names, values.tolist())}


def _place(model: nn.Module, device) -> torch.device:
    if device is None:
        return next(model.parameters()).device
    model.to(device)
    return torch.device(device)


def _lock(checkpoint_dir) -> ckpt.DirectoryLock:
    try:
        return ckpt.DirectoryLock(checkpoint_dir)
    except ckpt.CheckpointLockedError:
        raise
    except OSError as error:
        raise ckpt.CheckpointError(
            f"cannot write checkpoints into {checkpoint_dir}: {error}"
        ) from error


COMPILED_ON = ("cuda",)
"""Device types where ``TrainConfig.compile`` takes effect. Elsewhere compiling a
course-sized model takes longer than it saves (and needs a C++ compiler)."""


def autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 when ``config`` asks for mixed precision on this device, else None."""
    if device.type == "cuda" and config.mixed_precision:
        return torch.bfloat16
    if device.type == "cpu" and config.cpu_bf16 and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def _maybe_compile(model: nn.Module, config: TrainConfig, device: torch.device):
    """The module ``fit`` calls: ``torch.compile(model)`` when asked for on a device
    in ``COMPILED_ON``, else ``model``. Checkpoints always save ``model`` itself."""
    if config.compile and device.type in COMPILED_ON:
        return torch.compile(model)
    return model
