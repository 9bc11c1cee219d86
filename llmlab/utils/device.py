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

DEVICE_TYPES = ("cuda", "mps", "cpu")
"""Device types ``pick_device`` accepts, in the order "auto" prefers them."""


def pick_device(prefer: str | torch.device | None = "auto") -> torch.device:
    """The device to run on: the best available one, or the one asked for.

    ``"auto"`` (or None) picks CUDA, then MPS (an Apple GPU), then the CPU. Any
    other value forces a device: "cpu", "cuda", "cuda:1", "mps". Asking for one
    that is not available raises ``RuntimeError`` instead of silently falling
    back; a string that names no device type here raises ``ValueError``.
    """
    if prefer is None or prefer == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = _parse(prefer)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} requested but CUDA is not available")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise RuntimeError(
                f"device {prefer!r} requested but this machine has {count} CUDA "
                f"device(s), numbered from 0"
            )
    if device.type == "mps" and not _mps_available():
        raise RuntimeError(f"device {prefer!r} requested but MPS is not available")
    return device


def _parse(prefer: str | torch.device) -> torch.device:
    """``prefer`` as a device of a known type, or a ValueError that names it."""
    try:
        device = torch.device(prefer)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise ValueError(
            f"unknown device {str(prefer)!r}: expected 'auto', 'cpu', 'cuda', "
            f"'cuda:N' or 'mps'"
        )
    return device


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
