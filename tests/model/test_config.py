from __future__ import annotations

import dataclasses

import pytest

from llmlab.model import PRESETS, GPTConfig


def test_defaults_and_derived_values() -> None:
    config = GPTConfig()
    assert config.vocab_size == 256
    assert config.d_head == config.d_model // config.n_heads
    assert config.kv_heads == config.n_heads
    assert dataclasses.replace(config, n_kv_heads=2).kv_heads == 2


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(d_model=30), "d_model=30 must be divisible by n_heads=4"),
        (dict(n_kv_heads=3), "n_heads=4 must be divisible by n_kv_heads=3"),
        (dict(vocab_size=0), "vocab_size=0 must be a positive int"),
        (dict(n_layers=2.0), "n_layers=2.0 must be a positive int"),
        (dict(position="relative"), "position='relative' must be one of"),
        (dict(norm="batchnorm"), "norm='batchnorm' must be one of"),
        (dict(norm_placement="middle"), "norm_placement='middle'"),
        (dict(ffn="tanh"), "ffn='tanh' must be one of"),
        (dict(attention="fast"), "attention='fast' must be one of"),
        (dict(dropout=1.0), "dropout=1.0 must be in"),
        (dict(attention_window=0), "attention_window=0 must be a positive int"),
        (dict(d_model=36, n_heads=12, position="rope"), "RoPE needs an even d_head"),
    ],
)
def test_bad_values_are_named(change, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        GPTConfig(**change)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["tiny"].d_model = 64  # type: ignore[misc]


def test_presets_cover_the_course_and_published_shapes() -> None:
    assert {
        "tiny",
        "small",
        "small-llama",
        "gpt2-124m",
        "gpt3-175b",
        "llama2-70b",
    } <= set(PRESETS)
    llama = PRESETS["llama2-70b"]
    assert (llama.position, llama.norm, llama.ffn, llama.kv_heads) == (
        "rope",
        "rmsnorm",
        "swiglu",
        8,
    )
    assert PRESETS["gpt2-124m"].d_head == 64
