"""Generation: sampling strategies, the plain loop, the cached engine, speculative
decoding and streaming text."""

from llmlab.generate.sampling import (
    GREEDY,
    SamplingConfig,
    filtered_logits,
    filtered_probs,
    min_p_filter,
    repetition_penalty,
    sample,
    top_k_filter,
    top_p_filter,
)
from llmlab.generate.text_stream import TextStream, stream_text

__all__ = [
    "GREEDY",
    "SamplingConfig",
    "TextStream",
    "filtered_logits",
    "filtered_probs",
    "min_p_filter",
    "repetition_penalty",
    "sample",
    "stream_text",
    "top_k_filter",
    "top_p_filter",
]
