from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from llmlab.train.optim import AdamW, param_groups


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(10, 8), nn.LayerNorm(8), nn.Linear(8, 10))


def _loss(model: nn.Module, step: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(step)
    ids = torch.randint(10, (4, 5), generator=g)
    return nn.functional.cross_entropy(model(ids).reshape(-1, 10), ids.reshape(-1))


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adamw_steps_like_torch_adamw(weight_decay) -> None:
    ours_model, torch_model = _model(), _model()
    kwargs = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    ours = AdamW(param_groups(ours_model, weight_decay=weight_decay), **kwargs)
    theirs = torch.optim.AdamW(
        param_groups(torch_model, weight_decay=weight_decay), **kwargs
    )
    for step in range(20):
        for model, opt in ((ours_model, ours), (torch_model, theirs)):
            opt.zero_grad()
            _loss(model, step).backward()
            opt.step()
        for (name, a), b in zip(
            ours_model.named_parameters(), torch_model.parameters()
        ):
            torch.testing.assert_close(
                a, b, rtol=1e-5, atol=1e-6, msg=f"{name}, {step}"
            )


def test_one_step_by_hand() -> None:
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = AdamW([w], lr=0.1, betas=(0.9, 0.99), eps=0.0, weight_decay=0.5)
    w.grad = torch.tensor([0.3, -4.0])
    opt.step()
    # Step 1: m_hat = g, v_hat = g², so the Adam move is lr * sign(g); decay first.
    want = torch.tensor([1.0, -2.0]) * (1 - 0.1 * 0.5) - 0.1 * torch.tensor([1.0, -1.0])
    torch.testing.assert_close(w.detach(), want)


def test_param_groups_split_matrices_from_vectors() -> None:
    model = _model()
    decay, no_decay = param_groups(model, weight_decay=0.1)
    assert all(p.ndim >= 2 for p in decay["params"])
    assert all(p.ndim < 2 for p in no_decay["params"])
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)
    assert len(decay["params"]) + len(no_decay["params"]) == len(
        list(model.parameters())
    )


def test_state_dict_round_trip_continues_identically() -> None:
    model = _model()
    opt = AdamW(model.parameters(), lr=1e-2)
    for step in range(3):
        opt.zero_grad()
        _loss(model, step).backward()
        opt.step()
    twin = copy.deepcopy(model)
    twin_opt = AdamW(twin.parameters(), lr=1e-2)
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # no shared tensors
    for m, o in ((model, opt), (twin, twin_opt)):
        o.zero_grad()
        _loss(m, 9).backward()
        o.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_bad_hyperparameters_are_named() -> None:
    with pytest.raises(ValueError, match="betas"):
        AdamW([torch.zeros(1, requires_grad=True)], betas=(0.9, 1.0))
