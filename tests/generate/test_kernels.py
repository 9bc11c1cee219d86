from __future__ import annotations

import copy
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from llmlab.generate import generate, kernels
from llmlab.generate.kernels import (
    KERNELS,
    kernel_of,
    reset_kernels,
    tune_kernels,
    use_kernels,
    weight_first_linear,
)
from tests.generate.conftest import random_prompts, tiny_model


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 16), (2, 3, 16), (4, 1, 16)])
def test_weight_first_linear_equals_linear(shape, bias):
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(shape, generator=g), torch.randn(24, 16, generator=g)
    b = torch.randn(24, generator=g) if bias else None
    got = weight_first_linear(x, w, b)
    assert got.shape == (*shape[:-1], 24)
    torch.testing.assert_close(got, F.linear(x, w, b))


@pytest.mark.parametrize("kernel", KERNELS)
def test_each_kernel_keeps_values_names_and_outputs(kernel):
    model = tiny_model(tie_embeddings=True)
    x = torch.randint(64, (2, 7))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    want = model(x)
    use_kernels(model, {tuple(m.weight.shape): kernel for m in _linears(model)})
    assert {kernel_of(m) for m in _linears(model)} == {kernel}
    after = model.state_dict()
    assert list(after) == list(before)
    for name, value in before.items():
        assert torch.equal(after[name], value), name
    assert model.head.weight is model.token_embedding.weight  # still tied
    torch.testing.assert_close(model(x), want, rtol=1e-5, atol=1e-5)
    reset_kernels(model)
    assert all(
        m.weight.is_contiguous() and "forward" not in vars(m) for m in _linears(model)
    )


def test_column_kernel_stores_the_transpose_contiguously():
    layer = nn.Linear(8, 12)
    use_kernels(layer, {(12, 8): "column"})
    assert layer.weight.shape == (12, 8)
    assert layer.weight.t().is_contiguous() and not layer.weight.is_contiguous()


def test_tuned_model_generates_the_same_tokens():
    model = tiny_model()
    prompts = random_prompts([3, 9, 5])
    want = generate(model, prompts, max_new_tokens=12)
    choice = tune_kernels(model, batch_size=3, repeats=2)
    assert set(choice) == {tuple(m.weight.shape) for m in _linears(model)}
    assert set(choice.values()) <= set(KERNELS)
    for m in _linears(model):
        assert kernel_of(m) == choice[tuple(m.weight.shape)]
    assert generate(model, prompts, max_new_tokens=12) == want


def test_the_slowest_kernel_is_never_chosen(monkeypatch):
    """Slow one kernel down by 20 ms per call: the timing must steer away from it."""
    model = tiny_model()
    real = kernels.weight_first_linear

    def slow(x, w, b):
        time.sleep(0.02)
        return real(x, w, b)

    monkeypatch.setattr(kernels, "weight_first_linear", slow)
    assert "weight-first" not in tune_kernels(model, repeats=2).values()
    monkeypatch.undo()
    real_linear = F.linear

    def slow_row(x, w, b=None):  # only the row-major layout pays the delay
        if w.is_contiguous():
            time.sleep(0.02)
        return real_linear(x, w, b)

    monkeypatch.setattr(kernels.F, "linear", slow_row)
    assert "row" not in tune_kernels(model, repeats=2).values()


def test_weight_first_survives_deepcopy_with_its_own_weights():
    layer = nn.Linear(8, 4)
    use_kernels(layer, {(4, 8): "weight-first"})
    twin = copy.deepcopy(layer)
    with torch.no_grad():
        twin.weight.zero_()
        twin.bias.zero_()
    x = torch.randn(3, 8)
    assert torch.equal(twin(x), torch.zeros(3, 4))
    torch.testing.assert_close(layer(x), x @ layer.weight.t() + layer.bias)


def test_training_through_a_tuned_layer_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = nn.Linear(8, 4)
    tuned = copy.deepcopy(plain)
    use_kernels(tuned, {(4, 8): "weight-first"})
    x = torch.randn(5, 8)
    plain(x).square().sum().backward()
    tuned(x).square().sum().backward()
    torch.testing.assert_close(tuned.weight.grad, plain.weight.grad)
    torch.testing.assert_close(tuned.bias.grad, plain.bias.grad)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"batch_size": 0}, "batch_size=0"), ({"repeats": 0}, "repeats=0")],
)
def test_bad_settings_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tune_kernels(nn.Linear(2, 2), **kwargs)


def test_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="fast"):
        use_kernels(nn.Linear(2, 2), {(2, 2): "fast"})


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]
