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
