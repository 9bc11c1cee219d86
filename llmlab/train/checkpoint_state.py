"""What goes into a checkpoint: named modules' and optimizers' tensors, flattened.

A module's weights are its state dict with shared (tied) tensors stored once: two
names are the same tensor when they are the same ``Parameter`` or buffer object
(not when their ``data_ptr`` agrees, which a sharded ``DTensor`` cannot answer).
A wrapped module is unwrapped first (DDP's ``.module``, ``torch.compile``'s
``_orig_mod``), so what is saved loads into the plain model. A module sharded with
FSDP2 (``fully_shard``) is gathered into a full, CPU-resident state dict through
PyTorch's distributed state-dict API; that is a collective call, so every rank
calls it, and rank 0 receives the tensors.

Optimizer state becomes tensors (``exp_avg`` ...) plus JSON scalars and groups.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json

import torch
from torch import nn


def unwrap(module: nn.Module) -> nn.Module:
    """The plain model inside DDP / torch.compile wrappers (itself otherwise)."""
    while True:
        if isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def is_sharded(module: nn.Module) -> bool:
    """True when some parameter is a DTensor (FSDP2, tensor parallelism)."""
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in module.parameters())


def tied_aliases(module: nn.Module) -> dict[str, str]:
    """``{alias: first name}`` for every parameter or buffer registered twice."""
    seen: dict[int, str] = {}
    aliases = {}
    named = itertools.chain(
        module.named_parameters(remove_duplicate=False),
        module.named_buffers(remove_duplicate=False),
    )
    for name, tensor in named:
        if id(tensor) in seen:
            aliases[name] = seen[id(tensor)]  # e.g. a head tied to the embedding
        else:
            seen[id(tensor)] = name
    return aliases


def module_tensors(module: nn.Module) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors by name without aliases, {alias: name}) of an unwrapped module.

    For a sharded module only rank 0 gets tensors (the others get ``{}``).
    """
    module = unwrap(module)
    aliases = tied_aliases(module)
    if is_sharded(module):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(module, options=options)
    else:
        state = module.state_dict()
    aliases = {a: n for a, n in aliases.items() if a in module.state_dict()}
    tensors = {
        name: value.detach().cpu().contiguous()
        for name, value in state.items()
        if name not in aliases
    }
    return tensors, aliases


def load_module(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a full state dict (aliases filled in) into a plain or sharded module."""
    module = unwrap(module)
    if is_sharded(module):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
        )

        options = StateDictOptions(full_state_dict=True)
        set_model_state_dict(module, state, options=options)
    else:
        module.load_state_dict(state, strict=True)


def optimizer_tensors(optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """(state tensors named ``<param index>.<key>``, JSON-ready groups and scalars)."""
    from torch.distributed.tensor import DTensor

    state_dict = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in state_dict["state"].items():
        for key, value in state.items():
            if isinstance(value, DTensor):
                raise NotImplementedError(
                    "saving optimizer state of sharded (DTensor) parameters is not "
                    "supported; save the model only, or use torch.distributed"
                    ".checkpoint for sharded optimizer state"
                )
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        for group in state_dict["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_state_dict(saved: dict, tensors: dict[str, torch.Tensor]) -> dict:
    """The inverse of ``optimizer_tensors``: a dict for ``load_state_dict``."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for name, value in saved["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [
        {k: (tuple(v) if k == "betas" else v) for k, v in group.items()}
        for group in saved["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def config_dict(config) -> dict | None:
    """A config dataclass as plain JSON values (None for anything else)."""
    if config is None or not dataclasses.is_dataclass(config):
        return None
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of floating-point tensors holding a NaN or an infinity."""
    return [
        name
        for name, t in tensors.items()
        if t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]


def rng_states(generator: torch.Generator | None) -> dict:
    return {
        "generator": encode_state(generator.get_state()) if generator else None,
        "torch": encode_state(torch.get_rng_state()),
    }


def encode_state(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode("ascii")


def decode_state(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)
