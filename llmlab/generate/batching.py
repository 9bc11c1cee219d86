"""Batches of prompts: left padding, and per-row stop tokens and token budgets.

Prompts of different lengths are padded on the *left*, so every row's last prompt
token sits in the last column and the next tokens of all rows are appended in the
same column; ``attention_mask`` marks the real tokens. ``RowStops`` tracks, per
row, how many tokens it has produced and whether it has stopped (a stop token or
its ``max_new_tokens`` reached); a stopped row keeps being computed (the batch
moves in lockstep) but its tokens are discarded.

Taught in: chapters/08_generation_cost.ipynb
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def left_pad(
    prompts: Sequence[Sequence[int]], *, pad_id: int = 0, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts -> (ids (B, T) int64, attention_mask (B, T) bool), T = longest.

    ``[[5, 6, 7], [8]] -> ids [[5, 6, 7], [0, 0, 8]], mask [[1, 1, 1], [0, 0, 1]]``
    """
    if isinstance(prompts, torch.Tensor) or not prompts:
        raise ValueError("prompts must be a non-empty list of lists of token ids")
    empty = [i for i, p in enumerate(prompts) if len(p) == 0]
    if empty:
        raise ValueError(f"prompt(s) {empty} are empty; each needs at least one id")
    T = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(prompts), T, dtype=torch.bool)
    for row, prompt in enumerate(prompts):
        ids[row, T - len(prompt) :] = torch.as_tensor(list(prompt), dtype=torch.long)
        mask[row, T - len(prompt) :] = True
    return ids.to(device), mask.to(device)


def per_row(value, n: int, name: str) -> list:
    """One value for every row: ``value`` if it is a list/tuple of length n, else
    ``[value] * n``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} entries for {n} prompts")
        return list(value)
    return [value] * n


class RowStops:
    """Which rows of a batch are still generating."""

    def __init__(
        self, max_new_tokens, stop_tokens, batch_size: int, device=None
    ) -> None:
        """``max_new_tokens``: int or one per row. ``stop_tokens``: ids that end a
        row, either one collection for every row or a list of collections."""
        limits = per_row(max_new_tokens, batch_size, "max_new_tokens")
        bad = [n for n in limits if not isinstance(n, int) or n < 1]
        if bad:
            raise ValueError(f"max_new_tokens={bad[0]!r} must be an int >= 1")
        shared = not stop_tokens or not isinstance(
            next(iter(stop_tokens)), (list, tuple, set, frozenset)
        )
        stops = [list(stop_tokens)] * batch_size if shared else list(stop_tokens)
        stops = per_row(stops, batch_size, "stop_tokens")
        width = max(1, max(len(s) for s in stops))
        table = torch.full((batch_size, width), -1, dtype=torch.long)
        for row, ids in enumerate(stops):
            table[row, : len(ids)] = torch.as_tensor(list(ids), dtype=torch.long)
        self.stop_table = table.to(device)  # (B, width), -1 = no stop token
        self.limits = torch.as_tensor(limits, device=device)  # (B,)
        self.produced = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.done = torch.zeros(batch_size, dtype=torch.bool, device=device)

    @property
    def max_new_tokens(self) -> int:
        return int(self.limits.max())

    def update(self, tokens: torch.Tensor) -> torch.Tensor:
        """Record one new token per row (B,); return the rows it counted for (B,)
        bool, i.e. those active before this step."""
        active = ~self.done
        self.produced += active.long()
        hit = (tokens[:, None] == self.stop_table).any(dim=1)
        self.done = self.done | (active & hit) | (self.produced >= self.limits)
        return active

    @property
    def finished(self) -> bool:
        return bool(self.done.all())
