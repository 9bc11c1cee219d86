"""Corpora and token streams for training."""

from llmlab.data.corpus import read_text, stdlib_files
from llmlab.data.token_file import (
    read_tokens,
    token_dtype,
    tokenize_files,
    tokenizer_fingerprint,
    write_tokens,
)
from llmlab.data.windows import sample_windows, sequential_windows, split_train_val

__all__ = [
    "read_text",
    "read_tokens",
    "sample_windows",
    "sequential_windows",
    "split_train_val",
    "stdlib_files",
    "token_dtype",
    "tokenize_files",
    "tokenizer_fingerprint",
    "write_tokens",
]
