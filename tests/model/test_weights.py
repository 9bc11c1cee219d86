"""HF GPT-2 parity: same random weights, same logits (nothing is downloaded)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from llmlab.model import GPT, PRESETS
from llmlab.model.weights import (
    config_from_hf_gpt2,
    gpt_from_hf_gpt2,
    state_dict_from_hf_gpt2,
    state_dict_to_hf_gpt2,
)

transformers = pytest.importorskip("transformers")


def _hf_config(**changes):
    settings = dict(
        vocab_size=101,
        n_positions=32,
        n_embd=64,
        n_layer=3,
        n_head=4,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,
    )
    return transformers.GPT2Config(**{**settings, **changes})


def _random_hf_model(seed: int = 0, **changes):
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(_hf_config(**changes)).eval()
    with torch.no_grad():  # HF starts norms at 1 and biases at 0: randomise all
        for name, p in model.named_parameters():
            is_norm_scale = ".ln_" in name and name.endswith("weight")
            p.copy_(0.1 * torch.randn_like(p) + (1.0 if is_norm_scale else 0.0))
    return model


def _ids(vocab: int = 101) -> torch.Tensor:
    return torch.randint(0, vocab, (2, 32), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("activation", ["gelu_new", "gelu", "relu"])
def test_same_weights_same_logits_as_huggingface_gpt2(activation) -> None:
    hf = _random_hf_model(activation_function=activation)
    ours = gpt_from_hf_gpt2(hf).eval()
    ids = _ids()
    with torch.no_grad():
        want = hf(ids).logits
        got = ours(ids)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


@pytest.mark.parametrize("attention", ["reference", "flash"])
def test_parity_holds_for_every_attention_path(attention) -> None:
    hf = _random_hf_model()
    ours = gpt_from_hf_gpt2(hf).eval()
    slow = GPT(dataclasses.replace(ours.config, attention=attention)).eval()
    slow.load_state_dict(ours.state_dict())
    with torch.no_grad():
        assert torch.allclose(slow(_ids()), hf(_ids()).logits, atol=1e-5)


def test_round_trip_back_into_huggingface() -> None:
    config = config_from_hf_gpt2(_hf_config())
    ours = GPT(config, generator=torch.Generator().manual_seed(2)).eval()
    hf = transformers.GPT2LMHeadModel(_hf_config()).eval()
    hf.load_state_dict(state_dict_to_hf_gpt2(ours), strict=False)
    with torch.no_grad():
        assert torch.allclose(hf(_ids()).logits, ours(_ids()), atol=1e-5)


def test_full_size_gpt2_names_and_shapes_match_on_meta() -> None:
    with torch.device("meta"):
        hf = transformers.GPT2LMHeadModel(transformers.GPT2Config())
        ours = GPT(PRESETS["gpt2-124m"])
    assert config_from_hf_gpt2(hf.config) == PRESETS["gpt2-124m"]
    mapped = state_dict_from_hf_gpt2(hf.state_dict(), PRESETS["gpt2-124m"])
    own = ours.state_dict()
    assert set(mapped) == set(own)
    for name, tensor in own.items():
        assert mapped[name].shape == tensor.shape, name


def test_llama_shaped_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="not a GPT-2-shaped config"):
        state_dict_to_hf_gpt2(GPT(PRESETS["small-llama"]))
    with pytest.raises(ValueError, match="activation_function='silu'"):
        config_from_hf_gpt2(_hf_config(activation_function="silu"))


@pytest.mark.slow
def test_full_size_gpt2_124m_random_weights_same_logits() -> None:
    torch.manual_seed(0)
    hf_config = transformers.GPT2Config(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    ours = gpt_from_hf_gpt2(hf).eval()
    ids = torch.randint(0, 50_257, (1, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(ours(ids), hf(ids).logits, atol=1e-5)
