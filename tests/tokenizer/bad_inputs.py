"""Bad input to the tokenizer and the error it gives: one case list, read by
tests/test_troubleshooting.py (each case must give its error) and by
scripts/troubleshooting_page.py (which writes book/troubleshooting.md from it).

A case is a dict: ``title`` (what the user did), ``code`` (the call, as shown on
the page), ``run(workdir)`` (does it; raises, or returns the text to show),
``raises`` (the exception type, or None when the result is not an error) and
``match`` (a regex the message must contain).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from llmlab.tokenizer import BPETokenizer, TokenizerFileError

SECTION = "Tokenizer"
INTRO = (
    "Errors from `llmlab.tokenizer`. A file error always names the file; an encoding "
    "error gives the index in the whole text, also when encoding a stream."
)
NOTES = """\
Two behaviours are not errors, by decision:

- **Lone surrogates** (`"\\ud800"`, common in text decoded from JSON) are encoded as
  tiktoken encodes them: a surrogate pair becomes its character, a lone surrogate
  becomes U+FFFD (`"�"`). Decoding then gives `"�"` where the surrogate was.
- **GPT-2 ids for very new characters.** Which characters are letters or digits
  comes from the installed `regex` module's Unicode tables; tiktoken uses the tables
  built into its Rust engine. For code points that one of them knows and the other
  does not (such as U+1DFF6, a letter for `regex` 2026.11, unknown to tiktoken
  0.14), the pre-tokenizer can cut differently, so `BPETokenizer.from_gpt2_files`
  and tiktoken can give different ids for the same text (`"\\U0001DFF6揍"`: one piece
  here, two in tiktoken). When tiktoken's exact ids matter, encode with
  `tokenizer.to_tiktoken()`.
"""


def small() -> BPETokenizer:
    """Bytes, two merges ("lo", "low") and two special tokens."""
    return BPETokenizer(
        byte_ids=list(range(256)),
        merges=[(108, 111, 256), (256, 119, 257)],
        special_tokens={"<|endoftext|>": 258, "<|im start|>": 259},
    )


def _saved(workdir: Path, edit=None, text=None) -> Path:
    """A tokenizer file in ``workdir``, optionally with its JSON edited or replaced."""
    path = workdir / "tokenizer.json"
    small().save(path)
    if edit is not None:
        data = json.loads(path.read_text(encoding="utf-8"))
        edit(data)
        path.write_text(json.dumps(data), encoding="utf-8")
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _truncated(workdir: Path) -> Path:
    path = _saved(workdir)
    path.write_bytes(path.read_bytes()[:300])
    return path


def _load(make):
    return lambda workdir: BPETokenizer.load(make(workdir))


CASES = [
    {
        "title": "Loading a tokenizer file cut short (a full disk, a stopped copy)",
        "code": 'BPETokenizer.load("tokenizer.json")',
        "run": _load(_truncated),
        "raises": TokenizerFileError,
        "match": r"tokenizer.json: not valid JSON .* truncated",
    },
    {
        "title": "Loading another library's file (Hugging Face's tokenizer.json)",
        "code": 'BPETokenizer.load("tokenizer.json")',
        "run": _load(lambda w: _saved(w, text='{"model": {"type": "BPE"}}')),
        "raises": TokenizerFileError,
        "match": "is not an llmlab-bpe file",
    },
    {
        "title": "Loading a binary file (a checkpoint saved under the wrong name)",
        "code": 'BPETokenizer.load("tokenizer.json")',
        "run": _load(lambda w: _saved(w, text=b"PK\x03\x04\x80\x04\x95")),
        "raises": TokenizerFileError,
        "match": "not UTF-8",
    },
    {
        "title": "Loading a file with a field deleted",
        "code": 'BPETokenizer.load("tokenizer.json")  # no "merges"',
        "run": _load(lambda w: _saved(w, edit=lambda d: d.pop("merges"))),
        "raises": TokenizerFileError,
        "match": "'merges' is missing",
    },
    {
        "title": "Loading a file with a merge edited by hand",
        "code": 'BPETokenizer.load("tokenizer.json")  # "merges": [[108, 111], ...]',
        "run": _load(lambda w: _saved(w, edit=lambda d: d["merges"][0].pop())),
        "raises": TokenizerFileError,
        "match": r"merge 0 must be three ints",
    },
    {
        "title": "Loading a file with a special token id of -1",
        "code": 'BPETokenizer.load("tokenizer.json")  # "<|endoftext|>": -1',
        "run": _load(
            lambda w: _saved(
                w, edit=lambda d: d["special_tokens"].update({"<|endoftext|>": -1})
            )
        ),
        "raises": TokenizerFileError,
        "match": "has id -1",
    },
    {
        "title": "Loading a file with a special token id of 10⁹",
        "code": 'BPETokenizer.load("tokenizer.json")  # "<|endoftext|>": 1000000000',
        "run": _load(
            lambda w: _saved(
                w, edit=lambda d: d["special_tokens"].update({"<|endoftext|>": 10**9})
            )
        ),
        "raises": TokenizerFileError,
        "match": "has id 1000000000",
    },
    {
        "title": "Loading a file with an empty pre-tokenization pattern",
        "code": 'BPETokenizer.load("tokenizer.json")  # "pattern": ""',
        "run": _load(lambda w: _saved(w, edit=lambda d: d.update(pattern=""))),
        "raises": TokenizerFileError,
        "match": "must be a non-empty regex",
    },
    {
        "title": "A pre-tokenization pattern that skips characters",
        "code": 'BPETokenizer(..., pattern=r"\\p{L}+").encode("hello, world! 42")',
        "run": lambda w: BPETokenizer(
            byte_ids=list(range(256)), merges=[], special_tokens={}, pattern=r"\p{L}+"
        ).encode("hello, world! 42"),
        "raises": ValueError,
        "match": "does not cover the text: ', ' at index 5",
    },
    {
        "title": "Special-token text inside ordinary text",
        "code": 'tokenizer.encode("an <|endoftext|> inside")',
        "run": lambda w: small().encode("an <|endoftext|> inside"),
        "raises": ValueError,
        "match": "special token '<\\|endoftext\\|>' at index 3, which is disallowed",
    },
    {
        "title": "The same while streaming, the special token split between chunks",
        "code": 'list(tokenizer.encode_iterable(["word " * 13_200 + "<|im s", '
        '"tart|>"]))',
        "run": lambda w: list(
            small().encode_iterable(["word " * 13_200 + "<|im s", "tart|>"])
        ),
        "raises": ValueError,
        "match": "'<\\|im start\\|>' at index 66000, which is disallowed",
    },
    {
        "title": "An unknown name in allowed_special",
        "code": 'tokenizer.encode("hi", allowed_special={"<|im_start|>"})',
        "run": lambda w: small().encode("hi", allowed_special={"<|im_start|>"}),
        "raises": ValueError,
        "match": "unknown special tokens",
    },
    {
        "title": "Encoding bytes instead of text",
        "code": 'tokenizer.encode(b"hello")',
        "run": lambda w: small().encode(b"hello"),
        "raises": TypeError,
        "match": "encode expects a str, got bytes",
    },
    {
        "title": "Decoding floats (e.g. a float tensor's .tolist())",
        "code": "tokenizer.decode([104.0, 105.0])",
        "run": lambda w: small().decode([104.0, 105.0]),
        "raises": TypeError,
        "match": "item 0 is 104.0 \\(float\\)",
    },
    {
        "title": "Decoding a float tensor",
        "code": "tokenizer.decode(torch.tensor([104.7]))",
        "run": lambda w: small().decode(torch.tensor([104.7])),
        "raises": TypeError,
        "match": "dtype torch.float32",
    },
    {
        "title": "Decoding one id as a 0-d tensor",
        "code": "tokenizer.decode(logits.argmax())",
        "run": lambda w: small().decode(torch.tensor(104)),
        "raises": TypeError,
        "match": "shape \\(\\)",
    },
    {
        "title": "Decoding a batch at once",
        "code": "tokenizer.decode(np.array([[104, 105], [106, 107]]))",
        "run": lambda w: small().decode(np.array([[104, 105], [106, 107]])),
        "raises": TypeError,
        "match": "shape \\(2, 2\\)",
    },
    {
        "title": "Decoding a dict",
        "code": "tokenizer.decode({104: 1})",
        "run": lambda w: small().decode({104: 1}),
        "raises": TypeError,
        "match": "got dict",
    },
    {
        "title": "Decoding an id the vocabulary does not have",
        "code": "tokenizer.decode([104, 50_000])",
        "run": lambda w: small().decode([104, 50_000]),
        "raises": ValueError,
        "match": "unknown token id\\(s\\) \\[50000\\]",
    },
    {
        "title": "Building from a vocabulary and merges that do not fit together",
        "code": "BPETokenizer.from_vocab_and_merges(bytes_only, [(b'a', b'b')])",
        "run": lambda w: BPETokenizer.from_vocab_and_merges(
            {b: bytes([b]) for b in range(256)}, [(b"a", b"b")]
        ),
        "raises": ValueError,
        "match": "b'ab' is not in vocab",
    },
    {
        "title": "Encoding text with a lone surrogate (not an error)",
        "code": 'tokenizer.decode(tokenizer.encode("a\\ud800b"))',
        "run": lambda w: repr(small().decode(small().encode("a\ud800b"))),
        "raises": None,
        "match": "^'a\ufffdb'$",
    },
]
