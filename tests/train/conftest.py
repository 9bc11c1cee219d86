"""Tiny models and token streams for the training tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from llmlab.model import GPT, PRESETS
from llmlab.tokenizer import ByteTokenizer

CODE = "def add(a, b):\n    return a + b\n\nclass Point:\n    x: int = 0\n\n"


def tiny_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = dataclasses.replace(PRESETS["tiny"], vocab_size=256, context_length=32)
    return GPT(config)


def code_token_array() -> np.ndarray:
    """A repetitive, learnable byte stream (uint16, like a token file)."""
    return np.array(ByteTokenizer().encode(CODE * 60), dtype=np.uint16)


@pytest.fixture
def code_tokens() -> np.ndarray:
    return code_token_array()
