"""Putting a parallel model back together: one full state dict, one checkpoint.

Whatever the strategy, a checkpoint should load into a plain single-process GPT.
``full_state_dict`` undoes each wrapping: a DDP wrapper's ``module.`` prefix, the
shards of FSDP2 and DTensor tensor parallelism (``DTensor.full_tensor()``, an
all-gather), and the written-out tensor-parallel slices (all-gathered along the
dimension they were split on). Pipeline stages use
``stages.gather_stage_state``. ``save_full_checkpoint`` then writes it with
``llmlab.train.checkpoint`` (which itself gathers DDP, FSDP2 and DTensor models,
but not the written-out tensor-parallel slices or pipeline stages), so the file
format is the single-process one.

Differs from ``torch.distributed.checkpoint`` in: every tensor is gathered to one
place (fine for course-sized models; large runs save shards in parallel).

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.distributed.tensor import DTensor

from llmlab.distributed.tensor_parallel import gather_manual_shard
from llmlab.model import GPT, GPTConfig
from llmlab.train import checkpoint


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DDP (torch or written-out) wrapper, else ``model``."""
    return getattr(model, "module", model)


def full_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Full, unsharded tensors under the plain GPT's names (a collective: every
    rank of the model's groups must call it, in the same order)."""
    inner = unwrap(model)
    full: dict[str, torch.Tensor] = {}
    for module_name, module in inner.named_modules():
        skip = module._non_persistent_buffers_set
        own = [*module.named_parameters(recurse=False)]
        own += [(n, b) for n, b in module.named_buffers(recurse=False) if n not in skip]
        for name, tensor in own:
            if isinstance(tensor, DTensor):
                tensor = tensor.full_tensor()
            tensor = gather_manual_shard(module, name, tensor)
            key = f"{module_name}.{name}" if module_name else name
            full[key] = tensor.detach().clone()
    return full


def save_full_checkpoint(
    directory: str | Path,
    state: dict[str, torch.Tensor],
    config: GPTConfig,
    *,
    step: int = 0,
) -> None:
    """Write a gathered ``state`` as a single-process checkpoint (module "model").

    Every rank calls it; rank 0 writes (``llmlab.train.checkpoint``'s rule).
    """
    with torch.device("meta"):
        model = GPT(config)
    model.to_empty(device="cpu")
    model.load_state_dict(state)
    if config.tie_embeddings:  # to_empty made two tensors of the tied pair
        model.head.weight = model.token_embedding.weight
    checkpoint.save_checkpoint(directory, modules={"model": model}, step=step)
