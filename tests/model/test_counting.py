"""Parameter counts equal the published ones, computed on the meta device."""

from __future__ import annotations

import pytest
import torch

from llmlab.model import GPT, PRESETS
from llmlab.model.counting import (
    attention_scores_bytes,
    bytes_per_parameter,
    count_parameters,
    meta_model,
    parameter_breakdown,
    parameter_bytes,
)

transformers = pytest.importorskip("transformers")


def test_gpt2_124m_is_the_published_count() -> None:
    # With the output head tied to the token embedding (Radford et al. 2019).
    assert count_parameters(PRESETS["gpt2-124m"]) == 124_439_808


def test_gpt3_175b_matches_a_gpt2_class_model_of_that_shape_and_the_paper() -> None:
    config = PRESETS["gpt3-175b"]
    hf_config = transformers.GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.context_length,
        n_embd=config.d_model,
        n_layer=config.n_layers,
        n_head=config.n_heads,
    )
    with torch.device("meta"):
        oracle = sum(
            p.numel() for p in transformers.GPT2LMHeadModel(hf_config).parameters()
        )
    ours = count_parameters(config)
    assert ours == oracle
    # "175.0B" in Brown et al. 2020, table 2.1 is rounded: we are within 0.5%.
    assert abs(ours - 175e9) / 175e9 < 0.005


def test_llama2_70b_matches_huggingface_llama_on_meta_and_the_paper() -> None:
    config = PRESETS["llama2-70b"]
    hf_config = transformers.LlamaConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.d_model,
        intermediate_size=config.d_ff,
        num_hidden_layers=config.n_layers,
        num_attention_heads=config.n_heads,
        num_key_value_heads=config.n_kv_heads,
        max_position_embeddings=config.context_length,
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        oracle = sum(
            p.numel() for p in transformers.LlamaForCausalLM(hf_config).parameters()
        )
    ours = count_parameters(config)
    assert ours == oracle == 68_976_648_192
    # The name "70B" rounds up by 1.5%: state the tolerance, do not hide it.
    assert abs(ours - 70e9) / 70e9 < 0.02


def test_meta_model_allocates_nothing() -> None:
    model = meta_model(PRESETS["gpt3-175b"])
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize("name", ["tiny", "small-llama", "gpt2-124m", "llama2-70b"])
def test_breakdown_adds_up(name) -> None:
    assert sum(parameter_breakdown(PRESETS[name]).values()) == count_parameters(
        PRESETS[name]
    )


def test_counting_a_real_model_equals_counting_its_config() -> None:
    model = GPT(PRESETS["small-llama"])
    assert count_parameters(model) == count_parameters(PRESETS["small-llama"])


def test_bytes() -> None:
    assert [
        bytes_per_parameter(d) for d in (torch.float32, torch.float16, torch.bfloat16)
    ] == [4, 2, 2]
    gpt2 = PRESETS["gpt2-124m"]
    assert parameter_bytes(gpt2, torch.bfloat16) == 2 * 124_439_808
    # One layer's score table at T = 1024: 12 heads x 1024 x 1024 x 4 bytes = 48 MiB.
    assert attention_scores_bytes(gpt2, batch_size=1, seq_len=1024) == 48 * 2**20
