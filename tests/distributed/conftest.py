"""One spawned 2-process run per backend, shared by the distributed tests.

Spawning a process group costs seconds, so every strategy trains in the same two
processes, one after the other, and the tests read the results. The tests that
read them run twice: with gloo on the CPU (always), and with NCCL on two GPUs,
marked ``cuda`` and skipped, without starting anything, where fewer than two
CUDA devices exist."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

from llmlab.distributed import run_on_ranks
from llmlab.distributed.parity import (
    PIPELINE,
    STRATEGIES,
    ParityRun,
    reference_run,
    train_strategy,
)

RUN = ParityRun()
TIMEOUT_S = 120.0  # the whole shared run; it takes about 10 s on 2 busy cores
NCCL_TIMEOUT_S = 300.0  # spawned ranks import torch and start CUDA first

# Tolerances after RUN.steps AdamW steps at lr=RUN.lr. Distributed runs add the
# same numbers in a different order (all-reduce of halves instead of one sum), and
# Adam divides by √v, which magnifies rounding in near-zero gradients.
LOSS_ATOL = 1e-5
PARAM_ATOL = 2e-4  # 2% of one Adam step at lr=1e-2


CHECKPOINTED = dataclasses.replace(RUN, activation_checkpointing=True)


BACKENDS = [
    "gloo",
    pytest.param(
        "nccl",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(
                torch.cuda.device_count() < 2,
                reason="NCCL parity needs 2 CUDA devices "
                f"(found {torch.cuda.device_count()})",
            ),
        ],
    ),
]


def device_for(backend: str, rank: int = 0) -> torch.device:
    """Where a rank computes: the CPU under gloo, GPU number ``rank`` under NCCL."""
    return torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")


def _all_strategies(rank: int, world_size: int, root: str, backend: str) -> dict:
    device = device_for(backend, rank)
    if device.type == "cuda":
        # The bitwise-equality tests need the same bits from the same arithmetic;
        # some CUDA kernels (attention backward) add in a varying order otherwise.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    results = {
        name: train_strategy(
            rank,
            world_size,
            name,
            RUN,
            checkpoint_dir=f"{root}/{name}",
            count_bytes=True,
            device=device,
        )
        for name in STRATEGIES
    }
    # The full composition: activation checkpointing inside FSDP, and inside TP.
    for name in ("fsdp", "tp"):
        results[f"{name}+ac"] = train_strategy(
            rank, world_size, name, CHECKPOINTED, device=device
        )
    return results


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """gloo (CPU), or nccl (two GPUs): tests that read the shared runs get both."""
    return request.param


@pytest.fixture(scope="session")
def strategy_results(backend, tmp_path_factory) -> tuple[list[dict], str]:
    """[rank 0's results, rank 1's results] per strategy, and the checkpoint root."""
    root = str(tmp_path_factory.mktemp(f"distributed-checkpoints-{backend}"))
    nccl = backend == "nccl"
    results = run_on_ranks(
        _all_strategies,
        2,
        args=(root, backend),
        backend=backend,
        timeout_s=NCCL_TIMEOUT_S if nccl else TIMEOUT_S,
        # CUDA cannot start again in a forked child of a process that used it.
        start_method="spawn" if nccl else "fork",
    )
    return results, root


@pytest.fixture(scope="session")
def references(backend) -> dict[str, dict]:
    """Single-process runs on the same kind of device: whole batch, and accumulated
    over micro-batches."""
    device = device_for(backend)
    return {
        "batch": reference_run(RUN, device=device),
        "micro": reference_run(RUN, micro_batches=RUN.micro_batches, device=device),
    }


def reference_for(strategy: str, references: dict) -> dict:
    return references["micro" if strategy in PIPELINE else "batch"]


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)
