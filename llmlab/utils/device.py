"""Choosing a device, on request.

The package never picks a device by itself: notebooks and scripts call
``pick_device()`` once and pass the result down, so the same code runs on a CPU
laptop, an Apple GPU (MPS) or an NVIDIA GPU (CUDA).

Taught in: chapters/00_overview.ipynb
"""

from __future__ import annotations

import contextlib
import platform

import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then MPS, then CPU.

    ``prefer`` forces a device ("cpu", "cuda", "cuda:1", "mps"); asking for one that
    is not available raises instead of silently falling back.
    """
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} requested but CUDA is not available")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {prefer!r} requested but MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe_device(device: torch.device) -> str:
    """One line saying what a computation ran on, for the top of every notebook."""
    if device.type == "cuda":
        index = (
            device.index if device.index is not None else torch.cuda.current_device()
        )
        name = torch.cuda.get_device_name(index)
        return f"cuda:{index} ({name}), torch {torch.__version__}"
    if device.type == "mps":
        return f"mps (Apple GPU), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    threads = torch.get_num_threads()
    return f"cpu ({cpu}, {threads} torch threads), torch {torch.__version__}"


def autocast_context(device: torch.device, dtype: torch.dtype | None = None):
    """bf16 autocast on CUDA (or ``dtype`` when given); a no-op context elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=dtype or torch.bfloat16)
    if dtype is not None:
        return torch.autocast(device.type, dtype=dtype)
    return contextlib.nullcontext()
