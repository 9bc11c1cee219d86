"""The decoder-only transformer language model."""

from llmlab.model.config import PRESETS, GPTConfig
from llmlab.model.gpt import GPT

__all__ = ["GPT", "GPTConfig", "PRESETS"]
