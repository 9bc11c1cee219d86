"""Head-local attention: a tensor-parallel shard computes exactly its share.

Two processes (gloo, CPU). Each holds half of every attention layer's heads: the
query/key/value projections split by output rows (column-parallel), the output
projection by input columns (row-parallel), summed across ranks with one all-reduce
per layer. Plain ``torch.distributed``, no helper: the model code is unchanged.
"""

from __future__ import annotations

import dataclasses
import socket
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from llmlab.model import GPT, PRESETS

CONFIG = dataclasses.replace(
    PRESETS["tiny"], position="rope", n_heads=4, n_kv_heads=2, d_model=32
)
WORLD = 2


def _shard_rows(linear: nn.Linear, rank: int) -> nn.Linear:
    rows = linear.out_features // WORLD
    part = nn.Linear(linear.in_features, rows, bias=linear.bias is not None)
    with torch.no_grad():
        part.weight.copy_(linear.weight[rank * rows : (rank + 1) * rows])
        if linear.bias is not None:
            part.bias.copy_(linear.bias[rank * rows : (rank + 1) * rows])
    return part


def _shard_columns(linear: nn.Linear, rank: int) -> nn.Linear:
    cols = linear.in_features // WORLD
    part = nn.Linear(cols, linear.out_features, bias=linear.bias is not None)
    with torch.no_grad():
        part.weight.copy_(linear.weight[:, rank * cols : (rank + 1) * cols])
        if linear.bias is not None:  # added once, by rank 0
            part.bias.copy_(linear.bias if rank == 0 else torch.zeros_like(linear.bias))
    return part


class _SumForward(torch.autograd.Function):
    """Megatron's "g": all-reduce the partial outputs; the gradient passes as is."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


class _SumBackward(torch.autograd.Function):
    """Megatron's "f": the input is replicated; its partial gradients are summed."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _enter(module, args, kwargs):
    return (_SumBackward.apply(args[0]),), kwargs


def _leave(module, args, output):
    return _SumForward.apply(output)


def _worker(rank: int, port: int) -> None:
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=timedelta(seconds=60),
    )
    try:
        full = GPT(CONFIG, generator=torch.Generator().manual_seed(0)).double()
        sharded = GPT(CONFIG, generator=torch.Generator().manual_seed(0)).double()
        for block in sharded.blocks:
            attention = block.attention
            for name in ("query", "key", "value"):
                setattr(attention, name, _shard_rows(getattr(attention, name), rank))
            attention.out = _shard_columns(attention.out, rank)
            attention.register_forward_pre_hook(_enter, with_kwargs=True)
            attention.out.register_forward_hook(_leave)
        sharded.double()
        g = torch.Generator().manual_seed(1)
        ids = torch.randint(0, CONFIG.vocab_size, (2, 12), generator=g)
        weights = torch.randn(
            2, 12, CONFIG.vocab_size, dtype=torch.float64, generator=g
        )
        (full(ids) * weights).sum().backward()
        logits = sharded(ids)
        (logits * weights).sum().backward()
        assert torch.allclose(logits, full(ids), atol=1e-10)
        Dh = CONFIG.d_head
        for mine, whole in zip(sharded.blocks, full.blocks):
            for name in ("query", "key", "value"):
                rows = getattr(mine.attention, name).out_features
                got = getattr(mine.attention, name).weight.grad
                want = getattr(whole.attention, name).weight.grad
                assert rows % Dh == 0
                assert torch.allclose(got, want[rank * rows : (rank + 1) * rows]), name
            cols = mine.attention.out.in_features
            got, want = mine.attention.out.weight.grad, whole.attention.out.weight.grad
            assert torch.allclose(got, want[:, rank * cols : (rank + 1) * cols])
            got, want = mine.ffn.up.weight.grad, whole.ffn.up.weight.grad
            assert torch.allclose(got, want, atol=1e-10)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.distributed
def test_two_head_shards_give_the_single_process_logits_and_gradients() -> None:
    context = mp.spawn(_worker, args=(_free_port(),), nprocs=WORLD, join=False)
    for _ in range(120):  # at most 120 s, never hang CI
        if context.join(timeout=1):
            return
    for process in context.processes:
        process.kill()
    pytest.fail("the two ranks did not finish within 120 s")
