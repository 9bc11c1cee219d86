"""Training the same model under each strategy, to compare with one process.

Every strategy must give the same training run as a single process on the same
global batch: same losses, same weights after N optimizer steps (up to the order
of floating-point additions). ``reference_run`` is that single process;
``train_strategy`` is one rank of the parallel run, which returns its losses and
the full, gathered weights (and, on request, writes a single-process checkpoint
and counts the bytes its collectives send). Tests, the benchmark and chapter 12
all call these, so they check one code path.

Strategies: written-out DDP ("ddp_manual"), PyTorch DDP ("ddp"), FSDP2 ("fsdp"),
written-out and DTensor tensor parallelism ("tp_manual", "tp"), written-out GPipe
and 1F1B pipelines ("gpipe", "1f1b") and ``torch.distributed.pipelining``
("torch_gpipe", "torch_1f1b").

Both run on the ``device`` they are given: the CPU under gloo, or each rank's own
GPU under NCCL (``tests/distributed`` runs both where two GPUs exist); the
returned weights are always on the CPU.

Differs from a real training run in: random tokens, a fixed learning rate, a few
steps; enough to show the arithmetic is the same.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from llmlab.distributed.comm_counter import CommCounter
from llmlab.distributed.ddp import BucketedDataParallel
from llmlab.distributed.dims import ParallelDims
from llmlab.distributed.gather import full_state_dict, save_full_checkpoint, unwrap
from llmlab.distributed.parallelize import parallelize
from llmlab.distributed.pipeline import run_schedule, run_torch_schedule, torch_schedule
from llmlab.distributed.stages import build_stage, gather_stage_state
from llmlab.distributed.tensor_parallel import apply_manual_tensor_parallel
from llmlab.model import GPT, PRESETS, GPTConfig
from llmlab.train import checkpoint
from llmlab.train.loss import cross_entropy
from llmlab.train.optim import AdamW, param_groups

DATA_PARALLEL = ("ddp_manual", "ddp", "fsdp")
TENSOR_PARALLEL = ("tp_manual", "tp")
PIPELINE = ("gpipe", "1f1b", "torch_gpipe", "torch_1f1b")
STRATEGIES = DATA_PARALLEL + TENSOR_PARALLEL + PIPELINE


@dataclass(frozen=True)
class ParityRun:
    """What to train, identically, in one process and under each strategy."""

    config: GPTConfig = field(default_factory=lambda: PRESETS["tiny"])
    steps: int = 3
    batch_size: int = 8
    seq_len: int = 16
    micro_batches: int = 2
    """Pipeline micro-batches (the reference accumulates over as many)."""
    lr: float = 1e-2
    frozen: tuple[str, ...] = ("positions.embedding.weight", "blocks.0.norm1.bias")
    """Parameters with requires_grad=False: they must stay exactly as initialised."""
    activation_checkpointing: bool = False
    """Recompute each block in backward (PyTorch strategies, via ``parallelize``)."""
    seed: int = 0


def make_model(run: ParityRun) -> GPT:
    model = GPT(run.config, generator=torch.Generator().manual_seed(run.seed))
    params = dict(model.named_parameters())
    for name in run.frozen:
        if name not in params:
            raise ValueError(f"frozen parameter {name!r} is not in the model")
        params[name].requires_grad_(False)
    return model


def make_batches(run: ParityRun) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` batches of (ids, targets), each (B, T) int64, the same every call."""
    g = torch.Generator().manual_seed(run.seed + 1)
    shape = (run.steps, run.batch_size, run.seq_len + 1)
    tokens = torch.randint(0, run.config.vocab_size, shape, generator=g)
    return [(t[:, :-1], t[:, 1:]) for t in tokens]


def make_optimizer(model: nn.Module, run: ParityRun) -> AdamW:
    return AdamW(param_groups(model, weight_decay=0.1), lr=run.lr)


def reference_run(
    run: ParityRun, *, micro_batches: int = 1, device: torch.device | str = "cpu"
) -> dict:
    """The single-process run: losses per step and the final weights (on the CPU).

    ``micro_batches > 1`` accumulates gradients (what a pipeline does)."""
    device = torch.device(device)
    model = make_model(run).to(device)
    optimizer = make_optimizer(model, run)
    losses = []
    for x, y in _on(device, make_batches(run)):
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for xm, ym in zip(x.chunk(micro_batches), y.chunk(micro_batches)):
            loss = cross_entropy(model(xm), ym) / micro_batches
            loss.backward()
            total += loss.item()
        optimizer.step()
        losses.append(total)
    return {"losses": losses, "state": _detached(model.state_dict())}


def train_strategy(
    rank: int,
    world_size: int,
    strategy: str,
    run: ParityRun,
    *,
    checkpoint_dir: str | Path | None = None,
    count_bytes: bool = False,
    device: torch.device | str = "cpu",
) -> dict:
    """One rank's part of ``run`` under ``strategy`` (all ranks must call it), on
    ``device``: the CPU (gloo) or this rank's GPU (NCCL).

    Returns {"losses", "state" (full weights, on the CPU), "wire_bytes" (per step,
    if counted), "state_bytes" (parameters + gradients + optimizer state held by
    this rank), "seconds" (per step)}.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} must be one of {STRATEGIES}")
    device = torch.device(device)
    model = make_model(run).to(device)
    setup = _SETUPS[_family(strategy)]
    module, step, gather = setup(model, strategy, run, rank, device)
    optimizer = make_optimizer(module, run)
    counter = CommCounter(world_size) if count_bytes else None
    losses, began = [], time.perf_counter()
    for x, y in _on(device, make_batches(run)):
        optimizer.zero_grad(set_to_none=True)
        if counter is not None:
            with counter:
                losses.append(step(x, y))
        else:
            losses.append(step(x, y))
        optimizer.step()
    seconds = (time.perf_counter() - began) / run.steps
    held = state_bytes(module, optimizer)
    state = _detached(gather())
    if checkpoint_dir is not None:
        _save(checkpoint_dir, strategy, module, state, run)
    return {
        "losses": losses,
        "state": state if rank == 0 else None,
        "wire_bytes": None if counter is None else counter.wire_bytes / run.steps,
        "state_bytes": held,
        "seconds": seconds,
    }


def state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Bytes this rank holds in parameters, gradients and optimizer state
    (a sharded tensor counts its local shard)."""
    tensors = [p for p in model.parameters()]
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    tensors += [
        t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)
    ]
    return sum(_local(t).numel() * t.element_size() for t in tensors)


def _save(directory, strategy: str, module: nn.Module, state: dict, run) -> None:
    """PyTorch-wrapped models go straight to ``llmlab.train.checkpoint`` (it
    gathers them); written-out TP slices and pipeline stages are saved from the
    gathered ``state``."""
    if strategy in ("ddp_manual", "ddp", "fsdp", "tp"):
        modules = {"model": unwrap(module)}
        checkpoint.save_checkpoint(directory, modules=modules, step=run.steps)
    else:
        save_full_checkpoint(directory, state, run.config, step=run.steps)


def _family(strategy: str) -> str:
    if strategy in DATA_PARALLEL:
        return "data"
    return "tensor" if strategy in TENSOR_PARALLEL else "pipeline"


def _setup_data(model: GPT, strategy: str, run: ParityRun, rank: int, device):
    world = dist.get_world_size()
    ParallelDims(world_size=world, dp=world).check_batch(run.batch_size)
    if strategy == "ddp_manual":
        module = BucketedDataParallel(model, bucket_mb=0.01)  # several buckets
    else:
        degrees = {"dp": world} if strategy == "ddp" else {"fsdp": world}
        module = _parallelize(model, ParallelDims(world, **degrees), run, device)

    def step(x: torch.Tensor, y: torch.Tensor) -> float:
        b = run.batch_size // world
        xr, yr = x[rank * b : (rank + 1) * b], y[rank * b : (rank + 1) * b]
        loss = cross_entropy(module(xr), yr)  # this rank's slice of the batch
        loss.backward()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        return mean.item() / world

    return module, step, lambda: full_state_dict(module)


def _setup_tensor(model: GPT, strategy: str, run: ParityRun, rank: int, device):
    world = dist.get_world_size()
    dims = ParallelDims(world_size=world, tp=world)
    dims.check_model(run.config)
    if strategy == "tp_manual":
        apply_manual_tensor_parallel(model)
    else:
        model = _parallelize(model, dims, run, device)

    def step(x: torch.Tensor, y: torch.Tensor) -> float:
        loss = cross_entropy(model(x), y)  # every rank sees the whole batch
        loss.backward()
        return loss.item()

    return model, step, lambda: full_state_dict(model)


def _setup_pipeline(model: GPT, strategy: str, run: ParityRun, rank: int, device):
    world, m = dist.get_world_size(), run.micro_batches
    dims = ParallelDims(world_size=world, pp=world)
    dims.check_model(run.config)
    dims.check_batch(run.batch_size, m)
    stage = build_stage(model)
    schedule = strategy.removeprefix("torch_")
    runner = None
    if strategy.startswith("torch_"):
        runner = torch_schedule(
            stage, n_micro=m, loss_fn=cross_entropy, schedule=schedule, device=device
        )

    def step(x: torch.Tensor, y: torch.Tensor) -> float:
        if runner is not None:
            loss = run_torch_schedule(runner, stage, x, y)
        else:
            loss = run_schedule(
                stage, x.chunk(m), y.chunk(m), cross_entropy, schedule=schedule
            )
        shared = torch.tensor([0.0 if loss is None else loss], device=device)
        dist.broadcast(shared, src=world - 1)  # the last stage computed it
        return shared.item()

    return stage, step, lambda: gather_stage_state(stage)


def _parallelize(model: GPT, dims: ParallelDims, run: ParityRun, device) -> nn.Module:
    mesh = dims.build_mesh(device.type)
    checkpointing = run.activation_checkpointing
    return parallelize(model, dims, mesh, activation_checkpointing=checkpointing)


_SETUPS = {"data": _setup_data, "tensor": _setup_tensor, "pipeline": _setup_pipeline}


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if hasattr(t, "to_local") else t


def _on(device: torch.device, batches: list) -> list:
    return [(x.to(device), y.to(device)) for x, y in batches]


def _detached(state: dict) -> dict[str, torch.Tensor]:
    """Copies on the CPU, where results from every device compare."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
