"""The decoder-only transformer language model and its parts."""

from llmlab.model.alibi import alibi_bias, alibi_slopes
from llmlab.model.attention import CausalSelfAttention
from llmlab.model.attention_maps import attention_maps
from llmlab.model.block import Block
from llmlab.model.config import PRESETS, GPTConfig
from llmlab.model.counting import (
    attention_scores_bytes,
    bytes_per_parameter,
    count_parameters,
    meta_model,
    parameter_breakdown,
    parameter_bytes,
)
from llmlab.model.feed_forward import FeedForward, SwiGLUFeedForward
from llmlab.model.flash_attention import flash_attention
from llmlab.model.gpt import GPT
from llmlab.model.kv_cache import KVCache, LayerCache
from llmlab.model.layout import SequenceLayout
from llmlab.model.masks import AttentionMask, allowed_pairs
from llmlab.model.norm import LayerNorm, RMSNorm
from llmlab.model.positions import (
    ALiBiPositions,
    LearnedPositions,
    NoPositions,
    Positions,
    RotaryPositions,
    SinusoidalPositions,
    sinusoidal_table,
)
from llmlab.model.rope import apply_rope, rope_angles
from llmlab.model.scaled_dot_product import attend, reference_attention, sdpa_attention
from llmlab.model.weights import (
    config_from_hf_gpt2,
    gpt_from_hf_gpt2,
    state_dict_from_hf_gpt2,
    state_dict_to_hf_gpt2,
)

__all__ = [
    "ALiBiPositions",
    "AttentionMask",
    "Block",
    "CausalSelfAttention",
    "FeedForward",
    "GPT",
    "GPTConfig",
    "KVCache",
    "LayerCache",
    "LayerNorm",
    "LearnedPositions",
    "NoPositions",
    "PRESETS",
    "Positions",
    "RMSNorm",
    "RotaryPositions",
    "SequenceLayout",
    "SinusoidalPositions",
    "SwiGLUFeedForward",
    "alibi_bias",
    "alibi_slopes",
    "allowed_pairs",
    "attention_maps",
    "attention_scores_bytes",
    "bytes_per_parameter",
    "config_from_hf_gpt2",
    "count_parameters",
    "gpt_from_hf_gpt2",
    "meta_model",
    "parameter_breakdown",
    "parameter_bytes",
    "state_dict_from_hf_gpt2",
    "state_dict_to_hf_gpt2",
    "apply_rope",
    "attend",
    "flash_attention",
    "reference_attention",
    "rope_angles",
    "sdpa_attention",
    "sinusoidal_table",
]
