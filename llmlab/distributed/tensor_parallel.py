"""Tensor parallelism: split every layer's matrices across ranks (Megatron-LM).

A feed-forward network is ``down(act(up(x)))``. Split ``up`` by *columns* (output
units): rank r computes hidden units r·F/N … (r+1)·F/N from the full input, and the
activation works unit by unit, so no communication is needed. Split ``down`` by
*rows* (input units): rank r multiplies its hidden slice by its rows, giving a
partial sum of the output; one all-reduce adds the partial sums. Attention is split
the same way by heads: query/key/value column-parallel (each rank owns whole
heads; attention is computed head by head), the output projection row-parallel.
So each sub-layer costs exactly one all-reduce in forward (after the row-parallel
layer, the ``g`` operator) and one in backward (the gradient of the sub-layer's
input, the ``f`` operator). Norms and embeddings are replicated; because the
sub-layers' outputs and input gradients are all-reduced, their gradients come out
equal on every rank.

``apply_manual_tensor_parallel`` writes this out with two autograd functions;
``apply_tensor_parallel`` does the same with ``torch.distributed.tensor.parallel``
from a plan (``tensor_parallel_plan``): a readable dict from submodule name to
style.

Differs from Megatron-LM (Shoeybi et al. 2019, arXiv:1909.08053) in: embeddings and
the output head are replicated rather than split over the vocabulary; no sequence
parallelism; separate q/k/v projections (the DTensor version then all-reduces the
input gradient three times, the written-out one once); dropout inside a
tensor-parallel region would need per-rank random streams and is not handled.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.tensor import DTensor, Replicate, distribute_module
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    ParallelStyle,
    RowwiseParallel,
    parallelize_module,
)

COLUMN = ("attention.query", "attention.key", "attention.value", "ffn.up", "ffn.gate")
ROW = ("attention.out", "ffn.down")


class _CopyToParallel(torch.autograd.Function):
    """Megatron's ``f``: identity forward; all-reduce the gradient in backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, group) -> torch.Tensor:
        ctx.group = group
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class _ReduceFromParallel(torch.autograd.Function):
    """Megatron's ``g``: all-reduce (sum) forward; identity backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, group) -> torch.Tensor:
        x = x.contiguous().clone()
        dist.all_reduce(x, group=group)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


class ColumnParallelLinear(nn.Module):
    """This rank's slice of a linear layer's output units: y_r = x W_rᵀ + b_r.

    x: (..., D_in) full -> (..., D_out / N), this rank's units.
    """

    def __init__(self, linear: nn.Linear, group: dist.ProcessGroup | None) -> None:
        super().__init__()
        rank, n = dist.get_rank(group), dist.get_world_size(group)
        self.group, self.shard_dim = group, 0
        _check_divisible(linear.out_features, n, "output units")
        self.weight = nn.Parameter(linear.weight.detach().chunk(n, dim=0)[rank].clone())
        self.weight.requires_grad_(linear.weight.requires_grad)
        self.bias = _shard_bias(linear.bias, n, rank)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D_in) -> (..., D_out / N)."""
        return F.linear(x, self.weight, self.bias)  # (..., D_out / N)


class RowParallelLinear(nn.Module):
    """This rank's slice of a linear layer's input units; the partial outputs are
    summed across ranks (one all-reduce), then the bias is added once.

    x: (..., D_in / N), this rank's units -> (..., D_out) full.
    """

    def __init__(self, linear: nn.Linear, group: dist.ProcessGroup | None) -> None:
        super().__init__()
        rank, n = dist.get_rank(group), dist.get_world_size(group)
        self.group, self.shard_dim = group, 1
        _check_divisible(linear.in_features, n, "input units")
        self.weight = nn.Parameter(linear.weight.detach().chunk(n, dim=1)[rank].clone())
        self.weight.requires_grad_(linear.weight.requires_grad)
        self.bias = linear.bias  # replicated: added after the sum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D_in / N) -> (..., D_out), the same on every rank."""
        partial = F.linear(x, self.weight)  # (..., D_out): this rank's share
        y = _ReduceFromParallel.apply(partial, self.group)  # the one all-reduce
        return y if self.bias is None else y + self.bias


def apply_manual_tensor_parallel(
    model: nn.Module, *, group: dist.ProcessGroup | None = None
) -> nn.Module:
    """Written-out TP: swap each block's linear layers for column/row-parallel ones
    (in place) and put the ``f`` operator on the attention and FFN inputs."""
    for block in model.blocks:
        for name in COLUMN + ROW:
            parent_name, _, leaf = name.rpartition(".")
            parent = block.get_submodule(parent_name)
            if hasattr(parent, leaf):
                kind = ColumnParallelLinear if name in COLUMN else RowParallelLinear
                setattr(parent, leaf, kind(getattr(parent, leaf), group))
        for sublayer in (block.attention, block.ffn):
            sublayer.register_forward_pre_hook(_copy_input_hook(group))
    return model


def tensor_parallel_plan(model: nn.Module) -> dict[str, ParallelStyle]:
    """The same split as a plan for ``parallelize_module``: submodule -> style."""
    plan: dict[str, ParallelStyle] = {
        "blocks.*.attention.query": ColwiseParallel(),
        "blocks.*.attention.key": ColwiseParallel(),
        "blocks.*.attention.value": ColwiseParallel(),
        "blocks.*.attention.out": RowwiseParallel(),
        "blocks.*.ffn.up": ColwiseParallel(),
        "blocks.*.ffn.down": RowwiseParallel(),
    }
    if hasattr(model.blocks[0].ffn, "gate"):  # SwiGLU
        plan["blocks.*.ffn.gate"] = ColwiseParallel()
    return plan


def apply_tensor_parallel(model: nn.Module, tp_mesh: DeviceMesh) -> nn.Module:
    """PyTorch TP: weights become DTensors sharded over the 1-D ``tp_mesh``; the
    ones it leaves whole become replicated DTensors (``replicate_the_rest``)."""
    if tp_mesh.ndim != 1:
        raise ValueError(f"apply_tensor_parallel wants a 1-D mesh, got {tp_mesh.ndim}")
    parallelize_module(model, tp_mesh, tensor_parallel_plan(model))
    return replicate_the_rest(model, tp_mesh)


def replicate_the_rest(model: nn.Module, mesh: DeviceMesh) -> nn.Module:
    """Turn every parameter that is still a plain tensor (norms, embeddings, head)
    into a replicated DTensor, converting the owning module's inputs and outputs.

    Then every parameter is a DTensor, so code that treats parameters alike (a
    global gradient norm, an optimizer, a checkpoint) never mixes the two kinds.
    Tied parameters stay tied; frozen ones stay frozen. No communication: every
    rank already holds the same values and computes the same gradients.
    """
    replaced: dict[int, nn.Parameter] = {}
    for module in list(model.modules()):
        own = dict(module.named_parameters(recurse=False))
        retied = {n: replaced[id(p)] for n, p in own.items() if id(p) in replaced}
        plain = {n: p for n, p in own.items() if not isinstance(p, DTensor)}
        plain = {n: p for n, p in plain.items() if n not in retied}
        if not plain and not retied:
            continue
        for name, p in retied.items():  # e.g. the head tied to the embedding
            module.register_parameter(name, p)
        distribute_module(module, mesh, input_fn=_to_replicated, output_fn=_to_local)
        for name, p in plain.items():
            new = getattr(module, name)
            new.requires_grad_(p.requires_grad)
            replaced[id(p)] = new
    return model


def gather_manual_shard(module: nn.Module, name: str, tensor: torch.Tensor):
    """The full tensor of a written-out TP parameter (all-gather along its split
    dim); any other tensor is returned as it is."""
    if name == "bias" and isinstance(module, RowParallelLinear):
        return tensor
    if not isinstance(module, (ColumnParallelLinear, RowParallelLinear)):
        return tensor
    n = dist.get_world_size(module.group)
    parts = [torch.empty_like(tensor) for _ in range(n)]
    dist.all_gather(parts, tensor.detach().contiguous(), group=module.group)
    return torch.cat(parts, dim=0 if name == "bias" else module.shard_dim)


def _to_replicated(module: nn.Module, inputs: tuple, mesh: DeviceMesh) -> tuple:
    return tuple(
        DTensor.from_local(x, mesh, [Replicate()], run_check=False)
        if isinstance(x, torch.Tensor) and not isinstance(x, DTensor)
        else x
        for x in inputs
    )


def _to_local(module: nn.Module, output, mesh: DeviceMesh):
    return output.to_local() if isinstance(output, DTensor) else output


def _copy_input_hook(group):
    def hook(module: nn.Module, args: tuple) -> tuple:
        return (_CopyToParallel.apply(args[0], group), *args[1:])

    return hook


def _shard_bias(bias: torch.Tensor | None, n: int, rank: int):
    if bias is None:
        return None
    shard = nn.Parameter(bias.detach().chunk(n)[rank].clone())
    return shard.requires_grad_(bias.requires_grad)


def _check_divisible(size: int, n: int, what: str) -> None:
    if size % n:
        raise ValueError(f"{size} {what} cannot be split evenly across {n} ranks")
