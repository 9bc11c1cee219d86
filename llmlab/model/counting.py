"""Counting parameters and bytes, without allocating: build the model on ``meta``.

A tensor on PyTorch's ``meta`` device has a shape and a dtype but no storage, so a
175-billion-parameter model can be "built" on a laptop in a second and its
parameters counted exactly. Tied weights (GPT-2's embedding and head) are counted
once, as ``model.parameters()`` yields a shared tensor once.

Differs from the papers' counts in: nothing is rounded; published names ("175B",
"70B") are rounded, and the tests state by how much.

Taught in: chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import torch
from torch import nn

from llmlab.model.config import GPTConfig
from llmlab.model.gpt import GPT


def meta_model(config: GPTConfig) -> GPT:
    """The model with every tensor on the meta device: shapes only, no memory."""
    with torch.device("meta"):
        return GPT(config)


def count_parameters(model_or_config: nn.Module | GPTConfig) -> int:
    """Number of distinct parameters of a model, or of the model a config describes."""
    model = model_or_config
    if isinstance(model_or_config, GPTConfig):
        model = meta_model(model_or_config)
    return sum(p.numel() for p in model.parameters())


def parameter_breakdown(config: GPTConfig) -> dict[str, int]:
    """Parameters per component, summed over layers; the values add up to the total.

    Example (tiny): {"token embedding": 8192, "positions": 2048, "attention": ...}.
    """
    model = meta_model(config)
    parts = {
        "token embedding": model.token_embedding,
        "positions": model.positions,
        "attention": [b.attention for b in model.blocks],
        "feed-forward": [b.ffn for b in model.blocks],
        "norms": [m for b in model.blocks for m in (b.norm1, b.norm2)]
        + [model.final_norm],
    }
    counts = {name: _count(modules) for name, modules in parts.items()}
    counts["output head"] = 0 if config.tie_embeddings else model.head.weight.numel()
    return counts


def bytes_per_parameter(dtype: torch.dtype) -> int:
    """4 for float32, 2 for float16 and bfloat16, 1 for int8/float8."""
    return torch.empty((), dtype=dtype).element_size()


def parameter_bytes(
    model_or_config: nn.Module | GPTConfig, dtype: torch.dtype = torch.float32
) -> int:
    """Bytes the parameters take in ``dtype`` (weights only: no gradients,
    optimizer state or activations)."""
    return count_parameters(model_or_config) * bytes_per_parameter(dtype)


def attention_scores_bytes(
    config: GPTConfig,
    *,
    batch_size: int,
    seq_len: int,
    dtype: torch.dtype = torch.float32,
) -> int:
    """Bytes of one layer's (B, H, T, T) attention-score table: the O(T²) term
    that the tiled ("flash") path never materialises."""
    elements = batch_size * config.n_heads * seq_len * seq_len
    return elements * bytes_per_parameter(dtype)


def _count(modules: nn.Module | list[nn.Module]) -> int:
    modules = modules if isinstance(modules, list) else [modules]
    return sum(p.numel() for m in modules for p in m.parameters())
