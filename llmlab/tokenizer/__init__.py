"""Tokenizers: text to integer ids and back.

``ByteTokenizer`` maps each UTF-8 byte to an id; ``BPETokenizer`` is byte-level BPE
as in GPT-2: trainable, streaming, and able to load GPT-2's own vocabulary.
"""

from llmlab.tokenizer.bpe import BPETokenizer
from llmlab.tokenizer.byte import ByteTokenizer
from llmlab.tokenizer.pretokenize import GPT2_PATTERN
from llmlab.tokenizer.serialization import TokenizerFileError

__all__ = ["BPETokenizer", "ByteTokenizer", "GPT2_PATTERN", "TokenizerFileError"]
