"""One spawned 2-process run shared by the distributed tests.

Spawning a process group costs seconds, so every strategy trains in the same two
processes, one after the other, and the tests read the results."""

from __future__ import annotations

import dataclasses

import pytest

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

# Tolerances after RUN.steps AdamW steps at lr=RUN.lr. Distributed runs add the
# same numbers in a different order (all-reduce of halves instead of one sum), and
# Adam divides by √v, which magnifies rounding in near-zero gradients.
LOSS_ATOL = 1e-5
PARAM_ATOL = 2e-4  # 2% of one Adam step at lr=1e-2


CHECKPOINTED = dataclasses.replace(RUN, activation_checkpointing=True)


def _all_strategies(rank: int, world_size: int, root: str) -> dict:
    results = {
        name: train_strategy(
            rank,
            world_size,
            name,
            RUN,
            checkpoint_dir=f"{root}/{name}",
            count_bytes=True,
        )
        for name in STRATEGIES
    }
    # The full composition: activation checkpointing inside FSDP, and inside TP.
    for name in ("fsdp", "tp"):
        results[f"{name}+ac"] = train_strategy(rank, world_size, name, CHECKPOINTED)
    return results


@pytest.fixture(scope="session")
def strategy_results(tmp_path_factory) -> tuple[list[dict], str]:
    """[rank 0's results, rank 1's results] per strategy, and the checkpoint root."""
    root = str(tmp_path_factory.mktemp("distributed-checkpoints"))
    results = run_on_ranks(_all_strategies, 2, args=(root,), timeout_s=TIMEOUT_S)
    return results, root


@pytest.fixture(scope="session")
def references() -> dict[str, dict]:
    """Single-process runs: whole batch, and accumulated over micro-batches."""
    return {
        "batch": reference_run(RUN),
        "micro": reference_run(RUN, micro_batches=RUN.micro_batches),
    }


def reference_for(strategy: str, references: dict) -> dict:
    return references["micro" if strategy in PIPELINE else "batch"]


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)
