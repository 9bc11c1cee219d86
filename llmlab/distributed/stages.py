"""Cutting a GPT into pipeline stages: consecutive layers on consecutive ranks.

Stage 0 holds the embeddings and the first ``L/p`` blocks; the last stage holds the
last blocks, the final norm and the output head; stages in between hold only
blocks. A stage's forward maps what the previous stage sent to what the next one
needs: ids (B, T) -> hidden (B, T, D) -> ... -> logits (B, T, V).

With tied embeddings the first stage's embedding matrix and the last stage's head
are one tensor on a single device, but two copies in a pipeline. They start equal;
after every backward ``sync_tied_gradients`` adds the two gradients (as Megatron-LM
does), so both copies take the same step and stay equal.

Differs from torchtitan's splitting in: layers are split evenly by count (the
first and last stage do a little more work: embeddings, head and loss).

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class Stage(nn.Module):
    """Stage ``index`` of ``n_stages`` of ``model`` (which it shares tensors with)."""

    def __init__(self, model: nn.Module, index: int, n_stages: int) -> None:
        super().__init__()
        n_layers = len(model.blocks)
        if n_layers % n_stages:
            raise ValueError(
                f"n_layers={n_layers} is not divisible by pp={n_stages} stages"
            )
        if not 0 <= index < n_stages:
            raise ValueError(f"stage index={index} must be in [0, {n_stages})")
        per = n_layers // n_stages
        self.index, self.n_stages, self.offset = index, n_stages, index * per
        self.is_first, self.is_last = index == 0, index == n_stages - 1
        self.tied = bool(model.config.tie_embeddings)
        self.config, self.d_model = model.config, model.config.d_model
        if self.is_first:
            self.token_embedding = model.token_embedding
            self.positions = model.positions
            self.dropout = model.dropout
            # The model's own embedding step (token + position vectors), which
            # uses the two modules above; a plain function, not a submodule.
            self._embed = model.embed
        self.blocks = nn.ModuleList(model.blocks[self.offset : self.offset + per])
        if self.is_last:
            self.final_norm = model.final_norm
            self.head = model.head
        self.tied_group: dist.ProcessGroup | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ids (B, T) on the first stage, else hidden (B, T, D) -> hidden (B, T, D),
        or logits (B, T, V) on the last stage."""
        if self.is_first:
            x = self.dropout(self._embed(x))  # (B, T) -> (B, T, D)
        for block in self.blocks:
            x = block(x)  # (B, T, D)
        if self.is_last:
            x = self.head(self.final_norm(x))  # (B, T, V)
        return x

    def global_name(self, name: str) -> str:
        """This stage's parameter name -> the same parameter's name in the GPT.

        Example (stage 1 of 2, 4 layers): "blocks.0.ffn.up.weight" ->
        "blocks.2.ffn.up.weight".
        """
        if name.startswith("blocks."):
            _, i, rest = name.split(".", 2)
            return f"blocks.{int(i) + self.offset}.{rest}"
        return name

    def tied_weight(self) -> torch.Tensor | None:
        """The copy of the tied embedding/head matrix this stage holds, if any."""
        if not self.tied or self.n_stages == 1:
            return None
        if self.is_first:
            return self.token_embedding.weight
        return self.head.weight if self.is_last else None


def build_stage(model: nn.Module, *, pp_group: dist.ProcessGroup | None = None):
    """This rank's stage of ``model``; rank r of ``pp_group`` runs stage r.

    Every rank of the group must call it (it may create the tied-weights group).
    """
    rank, n = dist.get_rank(pp_group), dist.get_world_size(pp_group)
    stage = Stage(model, rank, n)
    if stage.tied and n > 1:
        # With two stages the pipeline group is the pair of ends; otherwise make
        # a group of the first and last ranks (every rank must take part).
        ends = [_global_rank(pp_group, 0), _global_rank(pp_group, n - 1)]
        stage.tied_group = pp_group if n == 2 else dist.new_group(ends)
    return stage


def sync_tied_gradients(stage: Stage) -> None:
    """Add the first and last stage's gradients of the tied matrix (in place)."""
    weight = stage.tied_weight()
    if weight is None or weight.grad is None:
        return
    dist.all_reduce(weight.grad, group=stage.tied_group)


def gather_stage_state(stage: Stage, *, pp_group=None) -> dict[str, torch.Tensor]:
    """Every stage's parameters and buffers under the GPT's names, on every rank
    (on the CPU: the pieces travel as pickled objects)."""
    local = {
        stage.global_name(k): v.detach().cpu() for k, v in stage.state_dict().items()
    }
    parts: list[dict] = [None] * dist.get_world_size(pp_group)  # type: ignore
    dist.all_gather_object(parts, local, group=pp_group)
    merged: dict[str, torch.Tensor] = {}
    for part in parts:
        merged.update(part)
    return merged


def _global_rank(group, rank: int) -> int:
    return rank if group is None else dist.get_global_rank(group, rank)
