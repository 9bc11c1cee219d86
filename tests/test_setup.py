"""The install guard: never pull PyTorch's CUDA build onto a machine with no GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install_torch.py"
spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
install_torch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_torch)

CUDA_PLAN = ["torch==2.13.0", "nvidia-cublas-cu12==12.8.4.1", "nvidia-cudnn-cu12==9.10"]
CPU_PLAN = ["torch==2.13.0+cpu", "sympy==1.14.0"]


def test_refuses_cuda_build_on_linux_without_gpu() -> None:
    why = install_torch.refusal(
        CUDA_PLAN, is_linux=True, has_gpu=False, allow_cuda=False
    )
    assert "CUDA build" in why and "TORCH_INDEX" in why


def test_allows_cuda_build_with_a_gpu_or_when_asked() -> None:
    refusal = install_torch.refusal
    assert refusal(CUDA_PLAN, is_linux=True, has_gpu=True, allow_cuda=False) == ""
    assert refusal(CUDA_PLAN, is_linux=True, has_gpu=False, allow_cuda=True) == ""


def test_allows_cpu_build_and_other_platforms() -> None:
    refusal = install_torch.refusal
    assert refusal(CPU_PLAN, is_linux=True, has_gpu=False, allow_cuda=False) == ""
    assert refusal(CUDA_PLAN, is_linux=False, has_gpu=False, allow_cuda=False) == ""


def test_constraints_pin_torch() -> None:
    constraints = SCRIPT.parents[1] / "requirements" / "constraints.txt"
    assert install_torch.pinned_torch(str(constraints)).startswith("torch==")
