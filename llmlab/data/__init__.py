"""Corpora and token streams for training."""

from llmlab.data.corpus import read_text, stdlib_files
from llmlab.data.windows import sample_windows, sequential_windows, split_train_val

__all__ = [
    "read_text",
    "sample_windows",
    "sequential_windows",
    "split_train_val",
    "stdlib_files",
]
