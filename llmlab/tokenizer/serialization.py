"""Saving a BPE tokenizer as human-readable JSON, and loading it back exactly.

The file lists the regex pattern, the id of each byte, the special tokens, and the
merges one per line as ``[left, right, new]`` in rank order, which is all a BPE
tokenizer is. For reading only, ``"tokens"`` shows each merged token's text
(bytes that are not valid UTF-8 appear as ``\\xNN``); loading ignores it.

Saving is atomic (a full disk leaves the old file whole). Loading checks the file
before use: a truncated, edited or foreign file raises :class:`TokenizerFileError`
naming the file and what is wrong, never a bare ``JSONDecodeError`` or ``KeyError``.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import json
from pathlib import Path

from llmlab.utils.atomic import atomic_replace

FORMAT = "llmlab-bpe"
VERSION = 1
FIELDS = {"pattern": str, "special_tokens": dict, "byte_ids": list, "merges": list}
"""The fields a tokenizer file must have, with their JSON types."""


class TokenizerFileError(ValueError):
    """A tokenizer file that can not be loaded; the message names file and problem."""


def to_text(tokenizer) -> str:
    """The JSON text of ``tokenizer`` (a ``BPETokenizer``), one merge a line."""
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
    return (
        f'{body},\n  "byte_ids": {json.dumps(tokenizer.byte_ids)},\n'
        f'  "merges": [\n{merges}\n  ],\n  "tokens": {{\n{tokens}\n  }}\n}}\n'
    )


def save(tokenizer, path: str | Path) -> None:
    """Write ``tokenizer`` to ``path`` as JSON, atomically."""
    text = to_text(tokenizer)
    with atomic_replace(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise TokenizerFileError(
            f"{path}: not UTF-8 text (byte {error.start}); is it a tokenizer file?"
        ) from None
    except json.JSONDecodeError as error:
        raise TokenizerFileError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); the file is truncated or was edited. Save the "
            "tokenizer again."
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TokenizerFileError(f"{path} is not an {FORMAT} file")
    return data


def load_fields(path: str | Path) -> dict:
    """The constructor arguments of the tokenizer saved at ``path``."""
    path = Path(path)
    data = _read_json(path)
    if data.get("version") != VERSION:
        raise TokenizerFileError(
            f"{path} has version {data.get('version')!r}; "
            f"this llmlab reads version {VERSION}"
        )
    for name, kind in FIELDS.items():
        if name not in data:
            raise TokenizerFileError(f"{path}: the field {name!r} is missing")
        if not isinstance(data[name], kind):
            raise TokenizerFileError(
                f"{path}: the field {name!r} must be a JSON {kind.__name__}, got "
                f"{type(data[name]).__name__}"
            )
    return {name: data[name] for name in FIELDS}
