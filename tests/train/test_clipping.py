from __future__ import annotations

import pytest
import torch

from llmlab.train.clipping import clip_grad_norm, global_grad_norm


def _params(scale: float, generator) -> list[torch.Tensor]:
    params = [torch.zeros(shape, requires_grad=True) for shape in [(3, 4), (5,), (2,)]]
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator) * scale
    return params


@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0), (1.0, 0.5)])
def test_equals_torch_clip_grad_norm(scale, max_norm, generator) -> None:
    ours = _params(scale, generator)
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    for a, b in zip(ours, theirs):
        b.grad = a.grad.clone()
    norm = clip_grad_norm(ours, max_norm)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    torch.testing.assert_close(norm, want)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad)


def test_clipped_norm_is_max_norm_and_direction_kept(generator) -> None:
    params = _params(10.0, generator)
    before = torch.cat([p.grad.flatten() for p in params])
    clip_grad_norm(params, 1.0)
    after = torch.cat([p.grad.flatten() for p in params])
    assert after.norm().item() == pytest.approx(1.0, rel=1e-5)
    torch.testing.assert_close(after / after.norm(), before / before.norm())


def test_global_grad_norm_equals_torch_total_norm() -> None:
    g = torch.Generator().manual_seed(3)
    params = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in [(3, 4), (5,)]]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g)
    want = torch.nn.utils.clip_grad_norm_(params, float("inf"))
    assert torch.allclose(global_grad_norm(params), want)
    assert global_grad_norm([torch.nn.Parameter(torch.zeros(2))]) == 0
