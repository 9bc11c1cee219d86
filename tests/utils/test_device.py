from __future__ import annotations

import pytest
import torch

from llmlab.utils import autocast_context, describe_device, pick_device


def test_pick_device_returns_an_available_device() -> None:
    device = pick_device()
    torch.zeros(2, device=device)  # usable
    if not torch.cuda.is_available():
        assert device.type in ("mps", "cpu")


def test_pick_device_refuses_an_unavailable_request() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here, so the request would be honoured")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        pick_device("cuda")


def test_describe_device_names_the_device() -> None:
    assert describe_device(torch.device("cpu")).startswith("cpu (")


def test_autocast_is_a_no_op_on_cpu_by_default() -> None:
    with autocast_context(torch.device("cpu")):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


@pytest.fixture
def machine(monkeypatch):
    """Pretend this machine has the given accelerators (no real device is touched)."""
    from llmlab.utils import device as device_module

    def have(*, cuda: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(device_module, "_mps_available", lambda: mps)

    return have


@pytest.mark.parametrize(
    "cuda, mps, expected",
    [(1, True, "cuda"), (2, False, "cuda"), (0, True, "mps"), (0, False, "cpu")],
)
@pytest.mark.parametrize("prefer", [None, "auto"])
def test_auto_prefers_cuda_then_mps_then_cpu(machine, prefer, cuda, mps, expected):
    machine(cuda=cuda, mps=mps)
    assert pick_device(prefer) == torch.device(expected)


def test_a_named_device_is_honoured_only_where_it_exists(machine) -> None:
    machine(cuda=2, mps=True)
    assert pick_device("mps") == torch.device("mps")
    assert pick_device("cpu") == torch.device("cpu")  # even with GPUs present
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(RuntimeError, match=r"'cuda:2'.*2 CUDA device"):
        pick_device("cuda:2")
    machine(cuda=0, mps=False)
    with pytest.raises(RuntimeError, match="'mps' requested but MPS is not available"):
        pick_device("mps")
    with pytest.raises(RuntimeError, match="'cuda' requested but CUDA is not"):
        pick_device("cuda")


@pytest.mark.parametrize("name", ["gpu", "banana", "xpu", "cuda:x", ""])
def test_an_unknown_device_string_raises_naming_it(machine, name) -> None:
    machine(cuda=1, mps=True)  # nothing unknown becomes a fallback choice
    with pytest.raises(ValueError, match=f"unknown device '{name}'"):
        pick_device(name)
