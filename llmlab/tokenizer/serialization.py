"""Saving a BPE tokenizer as human-readable JSON, and loading it back exactly.

The file lists the regex pattern, the id of each byte, the special tokens, and the
merges one per line as ``[left, right, new]`` in rank order, which is all a BPE
tokenizer is. For reading only, ``"tokens"`` shows each merged token's text
(bytes that are not valid UTF-8 appear as ``\\xNN``); loading ignores it.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import json
from pathlib import Path

FORMAT = "llmlab-bpe"
VERSION = 1


def save(tokenizer, path: str | Path) -> None:
    """Write ``tokenizer`` (a ``BPETokenizer``) to ``path`` as JSON."""
    merges = ",\n".join(f"    {json.dumps(list(m))}" for m in tokenizer.merges)
    tokens = ",\n".join(
        f"    {json.dumps(str(new))}: "
        f"{json.dumps(tokenizer.vocab[new].decode('utf-8', 'backslashreplace'))}"
        for _, _, new in tokenizer.merges
    )
    head = {
        "format": FORMAT,
        "version": VERSION,
        "pattern": tokenizer.pattern,
        "special_tokens": tokenizer.special_tokens,
    }
    body = json.dumps(head, indent=2, ensure_ascii=False)[:-2]  # drop "\n}"
    text = (
        f'{body},\n  "byte_ids": {json.dumps(tokenizer.byte_ids)},\n'
        f'  "merges": [\n{merges}\n  ],\n  "tokens": {{\n{tokens}\n  }}\n}}\n'
    )
    Path(path).write_text(text, encoding="utf-8")


def load_fields(path: str | Path) -> dict:
    """The constructor arguments of the tokenizer saved at ``path``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} file")
    if data.get("version") != VERSION:
        raise ValueError(
            f"{path} has version {data.get('version')!r}; "
            f"this llmlab reads version {VERSION}"
        )
    return {
        "byte_ids": data["byte_ids"],
        "merges": [tuple(m) for m in data["merges"]],
        "special_tokens": data["special_tokens"],
        "pattern": data["pattern"],
    }
