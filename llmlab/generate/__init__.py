"""Generation: sampling strategies, the plain loop, the cached engine, speculative
decoding, streaming text, decode kernels tuned by timing, and quality measures of a
code model."""

from llmlab.generate.batching import left_pad
from llmlab.generate.engine import ContextPolicy, Step, generate, stream
from llmlab.generate.healing import healed_prompts, healing_mask
from llmlab.generate.kernels import reset_kernels, tune_kernels, use_kernels
from llmlab.generate.naive import generate_plain
from llmlab.generate.quality import (
    bits_per_byte,
    complete_lines,
    parse_rate,
    parses,
    python_samples,
    reference_samples,
)
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
from llmlab.generate.speculative import (
    SpeculativeResult,
    speculative_generate,
    verify,
)
from llmlab.generate.text_stream import TextStream, stream_text

__all__ = [
    "GREEDY",
    "ContextPolicy",
    "SamplingConfig",
    "SpeculativeResult",
    "Step",
    "TextStream",
    "bits_per_byte",
    "complete_lines",
    "filtered_logits",
    "filtered_probs",
    "generate",
    "generate_plain",
    "healed_prompts",
    "healing_mask",
    "left_pad",
    "min_p_filter",
    "parse_rate",
    "parses",
    "python_samples",
    "reference_samples",
    "repetition_penalty",
    "reset_kernels",
    "sample",
    "speculative_generate",
    "stream",
    "stream_text",
    "top_k_filter",
    "top_p_filter",
    "tune_kernels",
    "use_kernels",
    "verify",
]
