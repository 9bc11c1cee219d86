"""Measuring what attention costs at a given length: time and peak tensor memory.

``peak_tensor_bytes(fn)`` runs ``fn`` under a ``TorchDispatchMode`` that sees every
tensor an operator returns, counts the bytes of each storage while any tensor still
refers to it, and records the high-water mark. It works on any device and needs no
allocator statistics. It sees what the Python code materialises (the reference
path's (T, S) score table, the tiled path's tiles, a mask built for SDPA) but not
the scratch memory inside one fused kernel; inputs made before the call are not
counted.

``attention_cost`` times one forward pass of ``llmlab.model.attend`` and measures
its peak, for the reference, SDPA and tiled ("flash") paths with a causal or a
sliding-window mask.

Differs from a profiler in: bytes of live tensors, not the process's resident
memory (``benchmarks/bench_attention.py`` measures that, in fresh processes).

Taught in: chapters/10_long_context.ipynb
"""

from __future__ import annotations

import statistics
import time
import weakref
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from llmlab.model import AttentionMask, attend


class _LiveTensors(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.refs: dict[int, int] = {}  # storage pointer -> live tensors using it
        self.sizes: dict[int, int] = {}
        self.live = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self._track(t)
        return out

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key not in self.refs:
            self.refs[key], self.sizes[key] = 0, storage.nbytes()
            self.live += self.sizes[key]
            self.peak = max(self.peak, self.live)
        self.refs[key] += 1
        weakref.finalize(t, self._release, key)

    def _release(self, key: int) -> None:
        self.refs[key] -= 1
        if self.refs[key] == 0:
            self.live -= self.sizes.pop(key)
            del self.refs[key]


def peak_tensor_bytes(fn: Callable[[], object]) -> int:
    """Most bytes held at once by tensors created while ``fn()`` runs.

    Example: ``peak_tensor_bytes(lambda: torch.zeros(1000))`` -> 4000.
    """
    tracker = _LiveTensors()
    with tracker:
        result = fn()
        del result
    return tracker.peak


def median_seconds(fn: Callable[[], object], *, repeats: int = 3) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1")
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def attention_cost(
    implementation: str,
    seq_len: int,
    *,
    window: int | None = None,
    n_heads: int = 4,
    d_head: int = 32,
    block_size: int = 64,
    repeats: int = 3,
    generator: torch.Generator | None = None,
) -> dict:
    """Time and peak memory of one causal attention forward at ``seq_len``.

    Returns {"seconds": median wall time, "peak_bytes": peak tensor memory,
    "scores_bytes": bytes of one full (H, T, T) float32 score table, for scale}.
    """
    shape = (1, n_heads, seq_len, d_head)
    q, k, v = (torch.randn(shape, generator=generator) for _ in range(3))
    mask = AttentionMask(window=window)

    def run() -> torch.Tensor:
        return attend(
            q, k, v, implementation=implementation, mask=mask, block_size=block_size
        )

    return {
        "seconds": median_seconds(run, repeats=repeats),
        "peak_bytes": peak_tensor_bytes(run),
        "scores_bytes": n_heads * seq_len * seq_len * 4,
    }
