"""Faster decode steps on CPU: choose, by timing, how each weight matrix is multiplied.

A decode step multiplies a few token vectors (one per row of the batch) by every
weight matrix. These products do two floating-point operations per weight read, so
their speed is set by how fast the weights stream from memory rather than by
arithmetic, and the BLAS library behind ``torch`` has several kernels for them whose
speed differs a lot with the shape, the batch size and the CPU. Three ways to
compute the same ``y = x Wᵀ + b`` for ``W`` of shape (out, in):

- ``"row"``: ``F.linear`` with ``W`` stored row by row (the default);
- ``"column"``: ``F.linear`` with ``W`` stored column by column (``W.t()``
  contiguous; the layout GPT-2's original ``Conv1D`` weights have);
- ``"weight-first"``: ``(W xᵀ)ᵀ`` with ``W`` stored row by row, which hands the
  library the product the other way round.

``tune_kernels`` times the three on the model's own matrices at the batch size
it will decode with and keeps the fastest for each group of same-shaped matrices.
The weights' values never change, the state dict keeps its names and shapes, and
outputs change only by floating-point reassociation (relative 1e-6). On the
development machine (2 cores, MKL) the GPT-2-shaped model decodes batch 1 with
``"column"`` for most matrices and batch 8 with ``"weight-first"`` for the head
(``benchmarks/bench_generate.py`` prints the choice). ``reset_kernels`` undoes it.

Differs from inference runtimes (oneDNN weight prepacking, llama.cpp's tensor
layouts) in: only orders and products ``torch`` already has, chosen per group of
same-shaped matrices by a timing at load rather than per kernel by a cost model.

Taught in: chapters/08_generation_cost.ipynb (measured in benchmarks/bench_generate.py)
"""

from __future__ import annotations

import statistics
import time
import types
from collections import defaultdict

import torch
import torch.nn.functional as F
from torch import nn

KERNELS = ("row", "column", "weight-first")


def weight_first_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` computed as ``(weight @ xᵀ)ᵀ``.

    x: (..., in) -> (..., out)."""
    flat = x.reshape(-1, x.shape[-1])  # (N, in)
    y = (weight @ flat.t()).t()  # (N, out), stored column by column
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], weight.shape[0])


@torch.no_grad()
def tune_kernels(
    model: nn.Module, *, batch_size: int = 1, repeats: int = 5
) -> dict[tuple[int, int], str]:
    """Give each group of same-shaped ``nn.Linear`` modules the kernel (see the
    module docstring) that runs fastest for ``batch_size`` one-token rows; returns
    the choice per (out, in) shape. Applies in place; ``reset_kernels`` undoes it.

    Each group is timed as a decode step uses it: one (batch_size, 1, in) input
    through every matrix of the group in turn (so the weights stream from memory
    instead of sitting in cache), the kernels interleaved, median of ``repeats``.
    A weight shared by several modules (a head tied to the embedding) counts once.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1")
    reset_kernels(model)
    groups: dict[tuple[int, int], list[nn.Linear]] = defaultdict(list)
    seen: set[int] = set()
    for module in _linears(model):
        if id(module.weight) not in seen:
            seen.add(id(module.weight))
            groups[tuple(module.weight.shape)].append(module)
    choice = {
        shape: _fastest(mods, batch_size, repeats) for shape, mods in groups.items()
    }
    use_kernels(model, choice)
    return choice


@torch.no_grad()
def use_kernels(model: nn.Module, choice: dict[tuple[int, int], str]) -> None:
    """Apply a choice returned by ``tune_kernels`` (shape -> kernel) again, without
    timing; ``nn.Linear`` modules of shapes not in ``choice`` get ``"row"``."""
    bad = {shape: k for shape, k in choice.items() if k not in KERNELS}
    if bad:
        raise ValueError(f"unknown kernel(s) {bad}; expected one of {KERNELS}")
    for module in _linears(model):
        _use(module, choice.get(tuple(module.weight.shape), "row"))


@torch.no_grad()
def reset_kernels(model: nn.Module) -> None:
    """Back to ``F.linear`` on row-major weights for each ``nn.Linear`` of ``model``."""
    for module in _linears(model):
        _use(module, "row")


def _linears(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` modules whose weight is a plain ``Parameter`` (DTensor
    shards and other tensor subclasses keep their kernel)."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.Linear) and type(m.weight) is nn.Parameter
    ]


def kernel_of(module: nn.Linear) -> str:
    """The kernel ``module`` runs now."""
    if "forward" in vars(module):
        return "weight-first"
    return "column" if not module.weight.is_contiguous() else "row"


def _use(module: nn.Linear, kernel: str) -> None:
    vars(module).pop("forward", None)  # back to nn.Linear.forward
    w = module.weight
    if kernel == "column":
        if w.is_contiguous():
            w.data = w.data.t().contiguous().t()  # same values, column by column
        return
    if not w.is_contiguous():
        w.data = w.data.contiguous()
    if kernel == "weight-first":
        # a bound method, so that copy.deepcopy rebinds it to the copied module
        module.forward = types.MethodType(_weight_first_forward, module)


def _weight_first_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return weight_first_linear(x, self.weight, self.bias)


def _fastest(modules: list[nn.Linear], batch_size: int, repeats: int) -> str:
    first = modules[0].weight
    x = torch.randn(
        batch_size, 1, first.shape[1], dtype=first.dtype, device=first.device
    )
    columns = [m.weight.t().contiguous().t() for m in modules]  # (out, in) views
    calls = {
        "row": lambda: [F.linear(x, m.weight, m.bias) for m in modules],
        "column": lambda: [F.linear(x, w, m.bias) for w, m in zip(columns, modules)],
        "weight-first": lambda: [
            weight_first_linear(x, m.weight, m.bias) for m in modules
        ],
    }
    seconds: dict[str, list[float]] = {k: [] for k in KERNELS}
    for kernel in KERNELS:
        calls[kernel]()  # warm-up: first calls pay for allocation and kernel choice
    for _ in range(repeats):
        for kernel in KERNELS:  # interleaved
            _synchronize(x.device)
            start = time.perf_counter()
            calls[kernel]()
            _synchronize(x.device)
            seconds[kernel].append(time.perf_counter() - start)
    return min(KERNELS, key=lambda k: statistics.median(seconds[k]))


def _synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
