"""llmlab: a large language model built chapter by chapter.

Importing ``llmlab`` (or any of its subpackages) has no side effects: no hardware
probing, no downloads, no logging configuration. Capabilities live in subpackages:
``tokenizer``, ``model``, ``data``, ``train``, ``generate``, ``context``,
``distributed``, ``rlhf`` and ``exercises``.
"""

__version__ = "0.1.0"
