"""Layouts: degrees multiply to the world size; impossible ones name their numbers."""

from __future__ import annotations

import dataclasses

import pytest

from llmlab.distributed import ParallelDims, parse_layout
from llmlab.model import PRESETS


def test_valid_layout_and_data_parallel_degree():
    dims = ParallelDims(world_size=8, fsdp=2, tp=2, pp=2)
    assert dims.data_parallel == 2
    dims.check_model(PRESETS["small"])  # 4 heads, 4 layers: fine


def test_degrees_must_multiply_to_world_size():
    with pytest.raises(ValueError, match=r"= 4, but world_size=2"):
        ParallelDims(world_size=2, dp=2, tp=2)


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_degrees_are_positive_ints(value):
    with pytest.raises(ValueError, match="tp="):
        ParallelDims(world_size=1, tp=value)


def test_dp_and_fsdp_together_rejected():
    with pytest.raises(ValueError, match="dp=2 and fsdp=2"):
        ParallelDims(world_size=4, dp=2, fsdp=2)


def test_heads_not_divisible_by_tp():
    config = dataclasses.replace(PRESETS["tiny"], n_heads=4, d_model=36)
    dims = ParallelDims(world_size=3, tp=3)
    with pytest.raises(ValueError, match="n_heads=4 is not divisible by tp=3"):
        dims.check_model(config)


def test_kv_heads_not_divisible_by_tp():
    config = dataclasses.replace(PRESETS["tiny"], n_heads=4, n_kv_heads=1)
    with pytest.raises(ValueError, match="key/value heads=1 not divisible by tp=2"):
        ParallelDims(world_size=2, tp=2).check_model(config)


def test_layers_not_divisible_by_pp():
    config = dataclasses.replace(PRESETS["tiny"], n_layers=3)
    with pytest.raises(ValueError, match="n_layers=3 is not divisible by pp=2"):
        ParallelDims(world_size=2, pp=2).check_model(config)


def test_batch_must_split_over_ranks_and_micro_batches():
    dims = ParallelDims(world_size=2, dp=2)
    dims.check_batch(8, micro_batches=2)
    with pytest.raises(ValueError, match="batch_size=6"):
        dims.check_batch(6, micro_batches=2)  # 3 per rank, not 2 micro-batches


def test_parse_layout():
    assert parse_layout("tp=2, pp=2", 4) == ParallelDims(world_size=4, tp=2, pp=2)
    assert parse_layout("", 1) == ParallelDims(world_size=1)
    with pytest.raises(ValueError, match="'zz=2'"):
        parse_layout("zz=2", 2)
    with pytest.raises(ValueError, match="world_size=2"):
        parse_layout("dp=4", 2)
