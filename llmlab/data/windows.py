"""Training batches as random contiguous windows of one long token stream.

A language model learns from the whole corpus laid end to end as one array of
token ids. A batch is ``batch_size`` windows cut at random starting points; the
target of each window is the same window shifted one token to the right, so every
position predicts the token that follows it. A held-out validation split is simply
the tail of the stream, never seen in training.

Differs from the textbook epoch loop in: windows are sampled with replacement from
random offsets (as nanoGPT does) rather than walking the data in order, so "where
we are in the data" is fully described by the state of one ``torch.Generator``.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import numpy as np
import torch

TokenArray = np.ndarray | torch.Tensor


def split_train_val(
    tokens: TokenArray, *, val_fraction: float = 0.1
) -> tuple[TokenArray, TokenArray]:
    """Split a 1-D token stream into (train, val): the last ``val_fraction`` is val.

    Slices are views, so a memory-mapped file stays memory-mapped.
    ``split_train_val(np.arange(10), val_fraction=0.2) -> ([0..7], [8, 9])``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction!r} must be in (0, 1)")
    _check_1d(tokens)
    n_val = int(round(len(tokens) * val_fraction))
    if n_val < 2 or len(tokens) - n_val < 2:
        raise ValueError(
            f"{len(tokens)} tokens are too few for val_fraction={val_fraction}"
        )
    cut = len(tokens) - n_val
    return tokens[:cut], tokens[cut:]


def sample_windows(
    tokens: TokenArray,
    *,
    batch_size: int,
    seq_len: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: inputs x (B, T) int64 and targets y (B, T) int64, y = x shifted.

    ``tokens`` is a 1-D array, tensor or memmap of ids. Starting offsets are drawn
    on the CPU with ``generator``, so the same generator state gives the same batch
    on any device.

    Data parallelism: every rank draws the offsets of the whole global batch from
    the same generator state and keeps its own slice, rows ``rank * B/W`` to
    ``(rank + 1) * B/W`` (B = ``batch_size``, W = ``world_size``), returning
    (B/W, T). Ranks never share a window, their union is exactly the batch one
    process would draw, and one generator state says where every rank is.
    """
    _check_1d(tokens)
    if batch_size < 1 or seq_len < 1:
        raise ValueError(f"batch_size={batch_size} and seq_len={seq_len} must be >= 1")
    if world_size < 1 or not 0 <= rank < world_size or batch_size % world_size:
        raise ValueError(
            f"rank={rank}, world_size={world_size}: need 0 <= rank < world_size "
            f"dividing batch_size={batch_size}"
        )
    if len(tokens) < seq_len + 1:
        raise ValueError(
            f"a window of seq_len={seq_len} needs {seq_len + 1} tokens, "
            f"the stream has {len(tokens)}"
        )
    starts = torch.randint(len(tokens) - seq_len, (batch_size,), generator=generator)
    per_rank = batch_size // world_size
    mine = starts[rank * per_rank : (rank + 1) * per_rank]  # (B/W,)
    return windows_at(tokens, mine, seq_len=seq_len, device=device)


def windows_at(
    tokens: TokenArray,
    starts: torch.Tensor,
    *,
    seq_len: int,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for windows beginning at ``starts`` (B,): two (B, T) int64."""
    rows = [_as_int64(tokens[s : s + seq_len + 1]) for s in starts.tolist()]
    block = torch.stack(rows)  # (B, T + 1)
    x, y = block[:, :-1], block[:, 1:]  # (B, T) each
    if device is not None and torch.device(device).type != "cpu":
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    return x.contiguous(), y.contiguous()


def sequential_windows(
    tokens: TokenArray, *, batch_size: int, seq_len: int, max_batches: int | None = None
):
    """Yield (x, y) batches of non-overlapping windows from the start, in order.

    Used for evaluation, where every run must score the same tokens.
    """
    _check_1d(tokens)
    n_windows = (len(tokens) - 1) // seq_len
    if n_windows < 1:
        raise ValueError(f"{len(tokens)} tokens hold no window of seq_len={seq_len}")
    starts = torch.arange(n_windows) * seq_len
    for i, first in enumerate(range(0, n_windows, batch_size)):
        if max_batches is not None and i >= max_batches:
            return
        yield windows_at(tokens, starts[first : first + batch_size], seq_len=seq_len)


def _as_int64(chunk: TokenArray) -> torch.Tensor:
    if isinstance(chunk, torch.Tensor):
        return chunk.to(torch.int64)
    return torch.from_numpy(np.asarray(chunk).astype(np.int64))


def _check_1d(tokens: TokenArray) -> None:
    if not isinstance(tokens, (np.ndarray, torch.Tensor)):
        raise TypeError(
            f"tokens must be a numpy array, memmap or torch tensor, "
            f"got {type(tokens).__name__}"
        )
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be 1-D, got shape {tuple(tokens.shape)}")
    if isinstance(tokens, torch.Tensor) and tokens.is_floating_point():
        raise TypeError(f"tokens must hold integer ids, got dtype {tokens.dtype}")
    if isinstance(tokens, np.ndarray) and not np.issubdtype(tokens.dtype, np.integer):
        raise TypeError(f"tokens must hold integer ids, got dtype {tokens.dtype}")
