from __future__ import annotations

import pytest

from llmlab.train.config import TrainConfig


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_steps": 0}, "max_steps=0"),
        ({"batch_size": 10, "grad_accum_steps": 3}, "batch_size=10"),
        ({"lr": 1e-3, "min_lr": 1e-2}, "min_lr=0.01"),
        ({"betas": (0.9, 1.5)}, "betas"),
        ({"grad_clip": 0.0}, "grad_clip=0.0"),
        ({"seq_len": 0}, "seq_len=0"),
    ],
)
def test_bad_values_are_named(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_dict_round_trip() -> None:
    config = TrainConfig(batch_size=8, grad_accum_steps=2, betas=(0.8, 0.9))
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.micro_batch_size == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": float("inf")}, "lr=inf must be finite"),
        ({"weight_decay": float("nan")}, "weight_decay=nan must be finite"),
        ({"grad_clip": float("nan")}, "grad_clip=nan must be finite"),
        ({"eps": float("inf")}, "eps=inf must be finite"),
        ({"min_lr": float("nan")}, "min_lr=nan must be finite"),
        ({"betas": (0.9, float("nan"))}, r"betas\[1\]=nan must be finite"),
        ({"checkpoint_minutes": float("inf")}, "checkpoint_minutes=inf"),
        ({"lr": "0.1"}, "lr='0.1' must be a number"),
        ({"max_steps": True}, "max_steps=True must be a positive int"),
        ({"mixed_precision": "False"}, "mixed_precision='False' must be a bool"),
    ],
)
def test_non_finite_and_mistyped_values_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
