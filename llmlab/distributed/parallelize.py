"""Applying a layout to a plain model, in the one order that composes.

The order is fixed here and nowhere else: tensor parallelism, then activation
checkpointing, then compilation, then FSDP or DDP.

1. **TP first**: it replaces weights by shards (DTensors). Everything after must
   see the parameters as they will be trained.
2. **Activation checkpointing** next: it re-runs a block's forward during backward,
   and that forward already contains TP's communication, so it is recomputed too.
3. **Compile** each block after that, so the compiled graph includes the
   recomputation boundary and the TP collectives.
4. **FSDP/DDP last**: their hooks wrap everything above (gather before a block
   runs, reduce gradients after its backward), and they shard or replicate the
   parameters as they finally are.

Pipeline parallelism happens before all four: ``stages.build_stage`` cuts the
model, and the stage is then parallelized like a model.

Differs from torchtitan's ``parallelize_llama`` in: no float8, no context
parallelism, no per-op selective checkpointing.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.device_mesh import DeviceMesh
from torch.utils.checkpoint import checkpoint

from llmlab.distributed.ddp import apply_ddp
from llmlab.distributed.dims import ParallelDims
from llmlab.distributed.fsdp import apply_fsdp
from llmlab.distributed.tensor_parallel import apply_tensor_parallel


def parallelize(
    model: nn.Module,
    dims: ParallelDims,
    mesh: DeviceMesh,
    *,
    activation_checkpointing: bool = False,
    compile: bool = False,
) -> nn.Module:
    """Apply ``dims`` to ``model`` (a GPT or a pipeline ``Stage``) on ``mesh``
    (from ``dims.build_mesh()``); returns the model to train (maybe a wrapper)."""
    dims.check_model(model.config)
    if dims.tp > 1:
        apply_tensor_parallel(model, mesh["tp"])
    if activation_checkpointing:
        apply_activation_checkpointing(model)
    if compile:
        for block in model.blocks:
            block.compile()
    if dims.fsdp > 1:
        return apply_fsdp(model, mesh["fsdp"])
    if dims.dp > 1:
        return apply_ddp(model, group=mesh["dp"].get_group())
    return model


def apply_activation_checkpointing(model: nn.Module) -> nn.Module:
    """Keep only each block's input in forward; recompute the rest in backward."""
    for block in model.blocks:
        block.forward = _checkpointed(block.forward)
    return model


def _checkpointed(forward):
    def run(x: torch.Tensor, **kwargs) -> torch.Tensor:
        return checkpoint(forward, x, use_reentrant=False, **kwargs)

    return run
