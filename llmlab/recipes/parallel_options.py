"""``--parallel`` for the training command line: join torchrun's process group,
apply a layout to the model, train, leave.

``torchrun --nproc-per-node 2 -m llmlab.train --out runs/x --parallel dp=2`` starts
two copies of the command line; torchrun gives each its rank in environment
variables, and this module (an entry point, so it may read them) joins the group,
builds the ``ParallelDims`` layout and its mesh, and wraps the model with
``llmlab.distributed.parallelize``. Every rank draws the same global batch and keeps
the rows of its data-parallel slice (tensor-parallel ranks share the same rows), so
the run sees exactly the batches of a single process. With ``pp`` the model is cut
into stages and each step runs the 1F1B schedule over ``grad_accum_steps``
micro-batches.

Limits: with ``fsdp`` or ``tp`` the model is saved at the end but ``--resume`` is
refused (``llmlab.train.checkpoint`` cannot save sharded optimizer state); ``pp``
runs alone (pp = process count), without validation or ``--resume``.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from llmlab.data.windows import sample_windows
from llmlab.distributed import (
    ParallelDims,
    build_stage,
    destroy_process_group,
    gather_stage_state,
    init_process_group,
    parallelize,
    parse_layout,
    run_schedule,
    save_full_checkpoint,
)
from llmlab.recipes.config_args import UsageError
from llmlab.train import checkpoint
from llmlab.train.config import TrainConfig
from llmlab.train.loop import fit as plain_fit
from llmlab.train.loss import cross_entropy
from llmlab.utils.device import pick_device


def add_parallel_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parallel",
        default=None,
        metavar="LAYOUT",
        help="run under torchrun with a layout: dp=N, fsdp=N, tp=N, pp=N or a "
        "combination such as fsdp=2,tp=2 (degrees multiply to the process count)",
    )


@dataclass
class ParallelRun:
    """This process's place in the job."""

    dims: ParallelDims
    rank: int
    device: torch.device
    mesh: object


# Generous: rank 0 may train the tokenizer while the others wait at a barrier.
TIMEOUT_S = 1800.0


@contextlib.contextmanager
def session(args: argparse.Namespace):
    """``with session(args) as run:`` a ParallelRun under ``--parallel``, else None.

    Rank 0 prepares the output directory, tokenizer and token cache first; the
    other ranks wait, then reuse them, and print nothing on stdout.
    """
    if args.parallel is None:
        yield None
        return
    run = start(args.parallel, args.device)
    try:
        if run.rank == 0:
            yield run
        else:
            dist.barrier()  # until rank 0 has prepared (see ``fit``)
            args.overwrite, args.quiet = False, True  # rank 0 has cleaned --out
            with contextlib.redirect_stdout(io.StringIO()):
                yield run
    finally:
        finish()


def start(layout: str, device: str | None) -> ParallelRun:
    """Join the process group torchrun prepared (gloo on CPU, nccl on CUDA)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise SystemExit(
            "--parallel needs torchrun, e.g. torchrun --nproc-per-node 2 -m "
            f"llmlab.train ... --parallel {layout}"
        )
    world, local_rank = int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    dims = parse_layout(layout, world)  # bad layouts fail before anything starts
    where = rank_device(device, local_rank)
    cuda = where.type == "cuda"
    if cuda:
        torch.cuda.set_device(where)
    init_process_group(backend="nccl" if cuda else "gloo", timeout_s=TIMEOUT_S)
    mesh = dims.build_mesh(where.type)
    return ParallelRun(dims, dist.get_rank(), where, mesh)


def rank_device(device: str | None, local_rank: int) -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` (nccl) when CUDA is asked for or,
    with no ``--device`` or ``auto``, present; otherwise the CPU (gloo). MPS has no
    process-group backend, so asking for it under ``--parallel`` is refused."""
    try:
        chosen = pick_device(device)  # None: CUDA, then MPS, then the CPU
    except (RuntimeError, ValueError) as error:
        raise UsageError(f"--device {device!r}: {error}") from None
    if chosen.type == "cuda":
        return torch.device("cuda", local_rank)
    if chosen.type == "mps" and device not in (None, "auto"):
        raise UsageError(
            f"--device {device!r}: --parallel runs on CUDA (nccl) or the CPU "
            "(gloo); MPS has no process-group backend"
        )
    return torch.device("cpu")


def finish() -> None:
    destroy_process_group()


def fit(run: ParallelRun | None, model: nn.Module, tokens, config, **kwargs):
    """``llmlab.train.fit`` in one process, ``train`` under a layout."""
    if run is None:
        return plain_fit(model, tokens, config, **kwargs)
    if run.rank == 0:
        dist.barrier()  # prepared: let the other ranks start
    kwargs.pop("device", None)
    kwargs.pop("seq_len", None)
    return train(model, tokens, config, run, **kwargs)


def train(model: nn.Module, tokens, config: TrainConfig, run: ParallelRun, **kwargs):
    """``fit`` under the layout; returns the History (the same on every rank).

    ``kwargs``: fit's ``val_tokens``, ``checkpoint_dir``, ``resume``, ``progress``.
    """
    dims = run.dims
    dims.check_model(model.config)
    dims.check_batch(config.batch_size, config.grad_accum_steps)
    model.to(run.device)
    source = _rank_batches(tokens, config, model.config.context_length, run)
    kwargs["progress"] = kwargs.get("progress", True) and run.rank == 0
    if dims.pp > 1:
        history = _train_pipeline(model, source, config, run, **kwargs)
    elif dims.fsdp > 1 or dims.tp > 1:
        history = _train_sharded(
            parallelize(model, dims, run.mesh), source, config, run, **kwargs
        )
    else:
        wrapped = parallelize(model, dims, run.mesh)
        history = plain_fit(wrapped, source, config, device=run.device, **kwargs)
    seq_len = config.seq_len or model.config.context_length
    history.tokens_seen = len(history.step) * config.batch_size * seq_len
    return history


def _train_sharded(model, source, config: TrainConfig, run, **kwargs):
    """FSDP / TP: ``llmlab.train.checkpoint`` gathers sharded weights but cannot
    save sharded optimizer state, so the model alone is saved, at the end."""
    if kwargs.pop("resume", False):
        raise UsageError(
            "--resume with fsdp or tp needs the optimizer state, which "
            "llmlab.train.checkpoint cannot save for sharded parameters"
        )
    checkpoint_dir = kwargs.pop("checkpoint_dir", None)
    history = plain_fit(model, source, config, device=run.device, **kwargs)
    if checkpoint_dir is not None:
        checkpoint.save_checkpoint(
            checkpoint_dir,
            modules={"model": model},
            step=len(history.step),
            train_config=config,
            history=history,
        )
    return history


def _rank_batches(tokens, config: TrainConfig, context_length: int, run):
    """Every rank draws the global batch's offsets and keeps its data-parallel rows."""
    seq_len = config.seq_len or context_length
    dp_mesh = run.mesh["fsdp"] if run.dims.fsdp > 1 else run.mesh["dp"]
    dp_rank, dp_size = dp_mesh.get_local_rank(), dp_mesh.size()

    def draw(generator: torch.Generator):
        return sample_windows(
            tokens,
            batch_size=config.batch_size,
            seq_len=seq_len,
            generator=generator,
            device=run.device,
            rank=dp_rank,
            world_size=dp_size,
        )

    return draw


def _train_pipeline(model, source, config: TrainConfig, run, **kwargs):
    """Pipeline stages: each fit step runs 1F1B over grad_accum_steps micro-batches."""
    if run.dims.pp != run.dims.world_size:
        raise UsageError("--parallel with pp supports pp alone (pp = process count)")
    if kwargs.pop("resume", False):
        raise UsageError("--resume is not supported with pp")
    checkpoint_dir = kwargs.pop("checkpoint_dir", None)
    kwargs.pop("val_tokens", None)  # evaluation needs the whole model on one rank
    stage = build_stage(model)
    m = config.grad_accum_steps
    one_step = dataclasses.replace(config, grad_accum_steps=1)

    def loss_fn(module, batch):
        x, y = batch
        loss = run_schedule(stage, x.chunk(m), y.chunk(m), cross_entropy)
        if config.grad_clip:  # clip by the norm over all stages, not this one
            _clip_across_stages(stage, config.grad_clip, run.device)
        value = torch.tensor([0.0 if loss is None else loss], device=run.device)
        dist.broadcast(value, src=run.dims.world_size - 1)
        # The schedule has already run backward; fit's backward on this leaf
        # changes no weight.
        return value[0].clone().requires_grad_(), {}

    history = plain_fit(
        stage, source, one_step, loss_fn=loss_fn, device=run.device, **kwargs
    )
    if checkpoint_dir is not None:
        state = gather_stage_state(stage)
        save_full_checkpoint(Path(checkpoint_dir), state, model.config)
    return history


def _clip_across_stages(stage: nn.Module, max_norm: float, device) -> None:
    """``clip_grad_norm`` with the norm of the whole model's gradient."""
    grads = [p.grad for p in stage.parameters() if p.grad is not None]
    tied = stage.tied_weight()
    squares = sum(float(g.float().pow(2).sum()) for g in grads)
    if tied is not None and tied.grad is not None and not stage.is_first:
        squares -= float(tied.grad.float().pow(2).sum())  # count the tied copy once
    total = torch.tensor([squares], device=device)
    dist.all_reduce(total)
    norm = total.sqrt().item()
    if norm > max_norm:
        for g in grads:
            g.mul_(max_norm / (norm + 1e-6))
