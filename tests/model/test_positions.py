from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from llmlab.model import GPT, PRESETS, sinusoidal_table
from llmlab.model.positions import (
    ALiBiPositions,
    LearnedPositions,
    NoPositions,
    RotaryPositions,
    SinusoidalPositions,
    absolute_positions,
    relative_positions,
)

SCHEMES = ["none", "sinusoidal", "learned", "rope", "alibi"]


def test_sinusoidal_table_by_hand() -> None:
    table = sinusoidal_table(torch.tensor([0, 1]), 4)
    want = torch.tensor(
        [
            [0.0, 1.0, 0.0, 1.0],
            [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)],
        ]
    )
    assert torch.allclose(table, want, atol=1e-6)


@pytest.mark.parametrize(
    "scheme, absolute, relative",
    [
        ("none", NoPositions, NoPositions),
        ("sinusoidal", SinusoidalPositions, NoPositions),
        ("learned", LearnedPositions, NoPositions),
        ("rope", NoPositions, RotaryPositions),
        ("alibi", NoPositions, ALiBiPositions),
    ],
)
def test_each_scheme_hooks_in_at_one_place(scheme, absolute, relative) -> None:
    config = dataclasses.replace(PRESETS["tiny"], position=scheme)
    assert type(absolute_positions(config)) is absolute
    assert type(relative_positions(config)) is relative


def _permuted_logits(scheme: str):
    config = dataclasses.replace(
        PRESETS["tiny"], position=scheme, n_layers=1, attention="reference"
    )
    model = GPT(config, generator=torch.Generator().manual_seed(0)).double()
    ids = torch.tensor([[5, 17, 99, 3, 42]])
    perm = torch.tensor([2, 0, 4, 1, 3])
    # Without a causal mask attention is a function of the *set* of tokens; to see
    # pure equivariance we look at the position that can see everything: the last.
    for block in model.blocks:
        block.attention.mask = dataclasses.replace(block.attention.mask, causal=False)
    return model(ids)[0], model(ids[:, perm])[0], perm


def test_without_positions_permuting_the_input_permutes_the_output() -> None:
    logits, permuted, perm = _permuted_logits("none")
    assert torch.allclose(permuted, logits[perm], atol=1e-10)


@pytest.mark.parametrize("scheme", ["sinusoidal", "learned", "rope", "alibi"])
def test_with_positions_order_matters(scheme) -> None:
    logits, permuted, perm = _permuted_logits(scheme)
    assert not torch.allclose(permuted, logits[perm], atol=1e-6)


def test_one_layer_without_positions_sees_a_bag_of_earlier_tokens() -> None:
    # "dog bites man" vs "bites dog man": the last token is the same and it attends
    # to the same set of tokens, so a one-layer model without positions cannot tell
    # the two orders apart. (Deeper models differ through earlier positions, whose
    # causal context does change.)
    config = dataclasses.replace(PRESETS["tiny"], position="none", n_layers=1)
    model = GPT(config, generator=torch.Generator().manual_seed(0)).double()
    dog, bites, man = 11, 22, 33
    a = model(torch.tensor([[dog, bites, man]]))[0, -1]
    b = model(torch.tensor([[bites, dog, man]]))[0, -1]
    assert torch.allclose(a, b, atol=1e-10)
    learned = GPT(dataclasses.replace(config, position="learned")).double()
    a = learned(torch.tensor([[dog, bites, man]]))[0, -1]
    b = learned(torch.tensor([[bites, dog, man]]))[0, -1]
    assert not torch.allclose(a, b, atol=1e-6)


def test_score_bias_only_for_alibi() -> None:
    with pytest.raises(NotImplementedError, match="RotaryPositions adds no score"):
        RotaryPositions(10_000.0).score_bias(torch.arange(2), torch.arange(2))
    assert ALiBiPositions(4).score_bias(torch.arange(3), torch.arange(3)).shape == (
        4,
        3,
        3,
    )
