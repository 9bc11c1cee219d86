"""Tokenizers: text to integer ids and back."""

from llmlab.tokenizer.byte import ByteTokenizer

__all__ = ["ByteTokenizer"]
