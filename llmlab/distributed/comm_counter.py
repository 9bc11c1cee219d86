"""Counting what the collectives send: bytes per rank per step, by instrumentation.

Every collective PyTorch runs, whether called from Python (``dist.all_reduce``),
from DDP's C++ reducer, from FSDP2 or from DTensor, goes through the dispatcher as
a ``c10d`` operator. A ``TorchDispatchMode`` sees each one with its tensors, so
``CommCounter`` can add up their sizes without touching the strategies.

Sizes become *bytes on the wire per rank* with the ring algorithms' costs
(Patarasuk & Yuan 2009): an all-reduce of n bytes over N ranks sends 2·(N-1)/N·n
per rank (a reduce-scatter then an all-gather), an all-gather or reduce-scatter
(N-1)/N of the full buffer, a send its own size.

Differs from ``torch.distributed.tensor.debug.CommDebugMode`` in: it counts bytes
(not only calls) and also sees collectives outside DTensor (DDP, FSDP2, send/recv).

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# operator name -> (which argument holds the counted buffer, ring cost factor key)
_OPS = {
    "c10d.allreduce_.default": ("first", "all_reduce"),
    "_c10d_functional.all_reduce.default": ("first", "all_reduce"),
    "_c10d_functional.all_reduce_.default": ("first", "all_reduce"),
    "c10d._allgather_base_.default": ("first", "all_gather"),  # output buffer
    "_c10d_functional.all_gather_into_tensor.default": ("gathered", "all_gather"),
    "c10d._reduce_scatter_base_.default": ("second", "reduce_scatter"),  # input
    "_c10d_functional.reduce_scatter_tensor.default": ("first", "reduce_scatter"),
    "c10d.broadcast_.default": ("first", "broadcast"),
    "c10d.send.default": ("first", "send"),
}


def wire_bytes(kind: str, nbytes: int, world_size: int) -> float:
    """Bytes one rank sends for a collective over ``nbytes`` (ring algorithms).

    Example: wire_bytes("all_reduce", 1000, 2) -> 1000.0 (2·(2-1)/2 · 1000).
    """
    n = world_size
    factor = {
        "all_reduce": 2 * (n - 1) / n,
        "all_gather": (n - 1) / n,
        "reduce_scatter": (n - 1) / n,
        "broadcast": (n - 1) / n,
        "send": 1.0,
    }
    if kind not in factor:
        raise ValueError(f"unknown collective kind {kind!r}; known: {sorted(factor)}")
    return factor[kind] * nbytes


class CommCounter(TorchDispatchMode):
    """``with CommCounter(world_size) as c: ...`` then ``c.wire_bytes``, ``c.calls``.

    ``world_size`` is the size of the groups the collectives run over.
    """

    def __init__(self, world_size: int) -> None:
        super().__init__()
        self.world_size = world_size
        self.calls: dict[str, int] = defaultdict(int)
        self.buffer_bytes: dict[str, int] = defaultdict(int)
        self.wire_bytes = 0.0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        if name in _OPS:
            where, kind = _OPS[name]
            nbytes = _buffer_bytes(args, where, self.world_size)
            self.calls[kind] += 1
            self.buffer_bytes[kind] += nbytes
            self.wire_bytes += wire_bytes(kind, nbytes, self.world_size)
        return func(*args, **(kwargs or {}))


def _buffer_bytes(args: tuple, where: str, world_size: int) -> int:
    index = 1 if where == "second" else 0
    tensors = args[index]
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    nbytes = sum(_nbytes(t) for t in tensors if isinstance(t, torch.Tensor))
    return nbytes * world_size if where == "gathered" else nbytes


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()
