"""Memory per rank from formulas: what each strategy stores of the model's state.

Training with AdamW in float32 keeps four numbers per parameter: the weight, its
gradient and Adam's two moving averages, 16 bytes (``STATE_BYTES_PER_PARAM``).
(Mixed precision keeps about the same: bf16 weights and gradients plus float32
master weights and moments.) Per rank, with N ranks:

- data parallel (DDP): everything everywhere, ``16·P``;
- FSDP / ZeRO-3: a 1/N slice of everything, ``16·P/N``;
- tensor parallel: the split matrices' 1/N plus the replicated rest (embeddings,
  norms, row-parallel biases): ``16·(P_split/N + P_replicated)``;
- pipeline: the largest stage's parameters (stages hold L/N blocks; the first adds
  the embeddings, the last the final norm and head, and with tied embeddings a
  second copy of the embedding matrix).

Parameters are counted on the meta device (``llmlab.model.meta_model``), so the
numbers for a 175-billion-parameter model are exact and cost nothing. Activations
(which depend on batch and sequence length, and which activation checkpointing
trades for compute) are not included.

Differs from the ZeRO paper's table (Rajbhandari et al. 2020, arXiv:1910.02054) in:
float32 training (16 bytes per parameter rather than mixed precision's 16 + 2).

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import dataclasses

from llmlab.distributed.tensor_parallel import COLUMN, ROW
from llmlab.model import GPTConfig, meta_model

STATE_BYTES_PER_PARAM = 16
LAYOUTS = ("single", "ddp", "fsdp", "tp", "pp")


def state_bytes_per_rank(
    config: GPTConfig,
    layout: str,
    n: int,
    *,
    bytes_per_param: int = STATE_BYTES_PER_PARAM,
) -> int:
    """Bytes of weights, gradients and optimizer state one rank holds.

    Example: a model of P parameters under ("fsdp", n=4) -> 16·P/4.
    """
    counts = _split_counts(config)
    total = counts["split"] + counts["replicated"]
    if layout in ("single", "ddp"):
        params = total
    elif layout == "fsdp":
        params = total / n
    elif layout == "tp":
        params = counts["split"] / n + counts["replicated"]
    elif layout == "pp":
        params = max(stage_parameters(config, n))
    else:
        raise ValueError(f"layout={layout!r} must be one of {LAYOUTS}")
    return round(params * bytes_per_param)


def stage_parameters(config: GPTConfig, n_stages: int) -> list[int]:
    """Parameters each pipeline stage holds (a tied matrix counts on both ends)."""
    if config.n_layers % n_stages:
        raise ValueError(
            f"n_layers={config.n_layers} is not divisible by pp={n_stages}"
        )
    model, block, _ = _one_block_model(config)
    per = config.n_layers // n_stages
    stages = [per * block] * n_stages
    stages[0] += _numel(model.token_embedding) + _numel(model.positions)
    stages[-1] += _numel(model.final_norm) + model.head.weight.numel()
    if config.tie_embeddings and n_stages == 1:
        stages[0] -= model.head.weight.numel()  # one matrix, counted once
    return stages


def _split_counts(config: GPTConfig) -> dict[str, int]:
    """Parameters tensor parallelism splits, and the ones every rank keeps."""
    model, block, split_block = _one_block_model(config)
    L = config.n_layers
    outside_blocks = _numel(model) - block
    split = L * split_block
    return {"split": split, "replicated": outside_blocks + L * (block - split_block)}


def _one_block_model(config: GPTConfig):
    """A meta model with one block, (its parameters in one block, of which split
    by tensor parallelism): every block is alike, so counts scale with n_layers,
    and a 96-layer model need not be built."""
    model = meta_model(dataclasses.replace(config, n_layers=1))
    block = model.blocks[0]
    split = 0
    for name, p in block.named_parameters():
        module = name.rsplit(".", 1)[0]
        is_row_bias = module in ROW and name.endswith("bias")
        if (module in COLUMN or module in ROW) and not is_row_bias:
            split += p.numel()
    return model, _numel(block), split


def _numel(module) -> int:
    return sum(p.numel() for p in module.parameters())
