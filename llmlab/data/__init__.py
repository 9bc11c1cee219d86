"""Corpora and token streams for training."""

from llmlab.data.corpus import read_text, stdlib_files

__all__ = ["read_text", "stdlib_files"]
