"""Moving weights between llmlab and HuggingFace ``transformers`` GPT-2.

GPT-2 checkpoints use their own names (``h.0.attn.c_attn``), fuse the query, key and
value projections into one matrix, and store linear layers as ``Conv1D`` with the
weight transposed (in, out). The model reads in course terms, so every name and
layout translation lives here, in one table, and nowhere else.

Nothing is downloaded: the functions take a model object or a state dict the caller
already has, e.g. ``GPT2LMHeadModel.from_pretrained("gpt2")`` on a machine with
internet access, or a randomly initialised one in the tests.

Differs from nanoGPT's ``from_pretrained`` in: separate q/k/v matrices on our side,
and a mapping in both directions.

Taught in: chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

import torch

from llmlab.model.config import GPTConfig
from llmlab.model.gpt import GPT

# Our name -> GPT-2's name, per block; {i} is the block index.
_BLOCK_NAMES = {
    "norm1.weight": "ln_1.weight",
    "norm1.bias": "ln_1.bias",
    "attention.out.weight": "attn.c_proj.weight",
    "attention.out.bias": "attn.c_proj.bias",
    "norm2.weight": "ln_2.weight",
    "norm2.bias": "ln_2.bias",
    "ffn.up.weight": "mlp.c_fc.weight",
    "ffn.up.bias": "mlp.c_fc.bias",
    "ffn.down.weight": "mlp.c_proj.weight",
    "ffn.down.bias": "mlp.c_proj.bias",
}
_TOP_NAMES = {
    "token_embedding.weight": "transformer.wte.weight",
    "positions.embedding.weight": "transformer.wpe.weight",
    "final_norm.weight": "transformer.ln_f.weight",
    "final_norm.bias": "transformer.ln_f.bias",
}
_QKV = ("query", "key", "value")


def config_from_hf_gpt2(hf_config) -> GPTConfig:
    """Our config for a ``transformers.GPT2Config``, with GPT-2's fixed choices."""
    activation = {"gelu_new": "gelu_tanh", "gelu": "gelu", "relu": "relu"}
    if hf_config.activation_function not in activation:
        raise ValueError(
            f"activation_function={hf_config.activation_function!r} has no llmlab "
            f"equivalent; supported: {sorted(activation)}"
        )
    return GPTConfig(
        vocab_size=hf_config.vocab_size,
        context_length=hf_config.n_positions,
        d_model=hf_config.n_embd,
        n_heads=hf_config.n_head,
        n_layers=hf_config.n_layer,
        d_ff=hf_config.n_inner or 4 * hf_config.n_embd,
        ffn=activation[hf_config.activation_function],
        norm_eps=hf_config.layer_norm_epsilon,
        position="learned",
        norm="layernorm",
        norm_placement="pre",
        bias=True,
        tie_embeddings=True,
    )


def state_dict_from_hf_gpt2(
    hf_state: dict[str, torch.Tensor], config: GPTConfig
) -> dict[str, torch.Tensor]:
    """GPT-2 (HF) tensors renamed and reshaped into llmlab's layout."""
    state = {ours: hf_state[theirs] for ours, theirs in _TOP_NAMES.items()}
    for i in range(config.n_layers):
        prefix = f"transformer.h.{i}."
        for ours, theirs in _BLOCK_NAMES.items():
            tensor = hf_state[prefix + theirs]
            state[f"blocks.{i}.{ours}"] = _from_conv1d(ours, tensor)
        # c_attn holds [q | k | v] along its output dim, as (D, 3D) Conv1D weights.
        weights = hf_state[prefix + "attn.c_attn.weight"].split(config.d_model, dim=1)
        biases = hf_state[prefix + "attn.c_attn.bias"].split(config.d_model)
        for name, w, b in zip(_QKV, weights, biases):
            state[f"blocks.{i}.attention.{name}.weight"] = w.t()  # (D_out, D_in)
            state[f"blocks.{i}.attention.{name}.bias"] = b
    state["head.weight"] = state["token_embedding.weight"]
    return state


def state_dict_to_hf_gpt2(model: GPT) -> dict[str, torch.Tensor]:
    """llmlab GPT-2-shaped weights in HF ``GPT2LMHeadModel`` names and layout."""
    _check_gpt2_shaped(model.config)
    ours = model.state_dict()
    state = {theirs: ours[name] for name, theirs in _TOP_NAMES.items()}
    for i in range(model.config.n_layers):
        prefix = f"transformer.h.{i}."
        for name, theirs in _BLOCK_NAMES.items():
            state[prefix + theirs] = _from_conv1d(name, ours[f"blocks.{i}.{name}"])
        qkv = [f"blocks.{i}.attention.{name}" for name in _QKV]
        state[prefix + "attn.c_attn.weight"] = torch.cat(
            [ours[n + ".weight"].t() for n in qkv], dim=1
        )  # (D, 3D)
        state[prefix + "attn.c_attn.bias"] = torch.cat([ours[n + ".bias"] for n in qkv])
    state["lm_head.weight"] = ours["head.weight"]
    return state


def gpt_from_hf_gpt2(hf_model) -> GPT:
    """A llmlab GPT with the weights of a ``transformers.GPT2LMHeadModel``."""
    config = config_from_hf_gpt2(hf_model.config)
    model = GPT(config)
    state = state_dict_from_hf_gpt2(hf_model.state_dict(), config)
    model.load_state_dict({k: v.detach().clone() for k, v in state.items()})
    return model.to(next(hf_model.parameters()).device)


def _from_conv1d(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Conv1D stores (in, out); nn.Linear stores (out, in). Transposing is its own
    inverse, so the same helper serves both directions."""
    return tensor.t() if name.endswith(".weight") and tensor.dim() == 2 else tensor


def _check_gpt2_shaped(config: GPTConfig) -> None:
    wanted = dict(
        position="learned",
        norm="layernorm",
        norm_placement="pre",
        bias=True,
        tie_embeddings=True,
        n_kv_heads=None,
    )
    wrong = {
        k: getattr(config, k) for k, v in wanted.items() if getattr(config, k) != v
    }
    if wrong or config.ffn not in ("gelu", "gelu_tanh", "relu"):
        raise ValueError(f"not a GPT-2-shaped config: {wrong or {'ffn': config.ffn}}")
