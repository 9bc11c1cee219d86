"""Column- and row-parallel layers: each rank's share, and the sum, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from llmlab.distributed import (
    ColumnParallelLinear,
    RowParallelLinear,
    run_on_ranks,
    tensor_parallel_plan,
)
from llmlab.model import GPT, PRESETS


def _layers(rank: int, world_size: int) -> dict:
    g = torch.Generator().manual_seed(0)
    full = nn.Linear(6, 4)
    with torch.no_grad():
        full.weight.copy_(torch.randn(4, 6, generator=g))
        full.bias.copy_(torch.randn(4, generator=g))
    x = torch.randn(3, 6, generator=g)
    column = ColumnParallelLinear(full, None)
    row = RowParallelLinear(full, None)
    y_col = column(x)
    x_r = x.chunk(world_size, dim=-1)[rank].clone().requires_grad_()
    y_row = row(x_r)
    y_row.sum().backward()
    return {
        "y_col": y_col.detach(),
        "y_row": y_row.detach(),
        "row_weight_grad": row.weight.grad,
        "row_bias_grad": row.bias.grad,
        "x_grad": x_r.grad,
    }


@pytest.fixture(scope="module")
def layer_results() -> list[dict]:
    return run_on_ranks(_layers, 2, timeout_s=60)


def test_column_parallel_gives_each_rank_its_output_units(layer_results):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(4, 6, generator=g), torch.randn(4, generator=g)
    x = torch.randn(3, 6, generator=g)
    full = x @ weight.T + bias
    for rank, result in enumerate(layer_results):
        assert torch.allclose(result["y_col"], full.chunk(2, dim=-1)[rank], atol=1e-6)


def test_row_parallel_sums_partials_into_the_full_output(layer_results):
    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(4, 6, generator=g), torch.randn(4, generator=g)
    x = torch.randn(3, 6, generator=g).requires_grad_()
    full = x @ weight.T + bias
    full.sum().backward()
    for rank, result in enumerate(layer_results):
        assert torch.allclose(result["y_row"], full.detach(), atol=1e-6)
        assert torch.allclose(result["x_grad"], x.grad.chunk(2, dim=-1)[rank])
        # d(sum y)/dW = ones^T x: each rank gets its input columns' gradient,
        # and the bias (added once, after the sum) gets the full one.
        want = torch.ones(3, 4).T @ x.detach()
        assert torch.allclose(result["row_weight_grad"], want.chunk(2, dim=1)[rank])
        assert torch.equal(result["row_bias_grad"], torch.full((4,), 3.0))


def test_plan_names_every_split_linear_layer():
    plan = tensor_parallel_plan(GPT(PRESETS["tiny"]))
    assert set(plan) == {
        f"blocks.*.{name}"
        for name in ("attention.query", "attention.key", "attention.value",
                     "attention.out", "ffn.up", "ffn.down")
    }  # fmt: skip
    swiglu = tensor_parallel_plan(GPT(PRESETS["small-llama"]))
    assert "blocks.*.ffn.gate" in swiglu
