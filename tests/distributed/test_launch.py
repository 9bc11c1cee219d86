"""Running on N local processes: results in rank order, failures reported, and a
dead or stuck rank ends the run with an error within the timeout, never a hang."""

from __future__ import annotations

import os
import time

import pytest
import torch
import torch.distributed as dist

from llmlab.distributed import RankFailure, run_on_ranks


def _sum_of_ranks(rank: int, world_size: int, scale: float) -> dict:
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    return {"rank": rank, "sum": t * scale, "world": dist.get_world_size()}


def _raise_on_rank_1(rank: int, world_size: int) -> None:
    if rank == 1:
        raise KeyError("broken on purpose")
    dist.barrier()


def _rank_1_dies(rank: int, world_size: int) -> None:
    if rank == 1:
        os._exit(7)  # killed: no Python cleanup, no message
    dist.all_reduce(torch.ones(1))


def _rank_1_hangs(rank: int, world_size: int) -> None:
    if rank == 1:
        time.sleep(600)
    dist.all_reduce(torch.ones(1))


def test_results_come_back_in_rank_order_with_tensors():
    out = run_on_ranks(_sum_of_ranks, 2, args=(10.0,), timeout_s=30)
    assert [o["rank"] for o in out] == [0, 1]
    assert all(
        o["world"] == 2 and torch.equal(o["sum"], torch.tensor([30.0])) for o in out
    )


def test_an_exception_on_one_rank_is_reported_with_its_traceback():
    with pytest.raises(RankFailure, match=r"(?s)rank 1 raised.*broken on purpose"):
        run_on_ranks(_raise_on_rank_1, 2, timeout_s=30)


@pytest.mark.parametrize("fn", [_rank_1_dies, _rank_1_hangs], ids=["dies", "hangs"])
def test_a_dead_or_stuck_rank_fails_the_run_within_the_timeout(fn):
    timeout_s = 3.0
    began = time.monotonic()
    with pytest.raises(RankFailure, match="rank"):
        run_on_ranks(fn, 2, timeout_s=timeout_s)
    assert time.monotonic() - began < timeout_s + 5.0  # 5 s for start and cleanup


def test_world_size_must_be_positive():
    with pytest.raises(ValueError, match="world_size=0"):
        run_on_ranks(_sum_of_ranks, 0)
