from __future__ import annotations

import pytest
import torch

from llmlab.model import alibi_bias, alibi_slopes


def test_slopes_for_eight_heads_are_halvings() -> None:
    want = torch.tensor([2.0**-i for i in range(1, 9)])
    assert torch.allclose(alibi_slopes(8), want)


def test_slopes_for_a_non_power_of_two_follow_the_paper() -> None:
    # 12 heads: the 8-head slopes, then every other slope of the 16-head sequence.
    sixteen = [2 ** (-8 * h / 16) for h in range(1, 17)]
    want = torch.tensor([2.0**-i for i in range(1, 9)] + sixteen[0::2][:4])
    assert torch.allclose(alibi_slopes(12), want)
    assert alibi_slopes(1).tolist() == [2.0**-8]


def test_bias_by_hand_and_shape() -> None:
    bias = alibi_bias(torch.tensor([0.5, 0.25]), torch.arange(3), torch.arange(3))
    assert bias.shape == (2, 3, 3)
    assert torch.allclose(bias[0, 2], torch.tensor([-1.0, -0.5, 0.0]))
    assert torch.allclose(bias[1, 2], torch.tensor([-0.5, -0.25, 0.0]))


def test_bias_depends_only_on_distance() -> None:
    slopes = alibi_slopes(4)
    near = alibi_bias(slopes, torch.arange(5), torch.arange(5))
    far = alibi_bias(slopes, torch.arange(5) + 1000, torch.arange(5) + 1000)
    assert torch.equal(near, far)


def test_zero_heads_is_rejected() -> None:
    with pytest.raises(ValueError, match="n_heads=0"):
        alibi_slopes(0)
