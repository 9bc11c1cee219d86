"""How good is a code model? Bits per byte on held-out text, and how often its
samples are valid Python.

Bits per byte divides the model's total surprise (−log₂ p of every predicted
token) by the number of bytes those tokens spell, so it compares models with
different tokenizers. The parse rate samples from a prompt, keeps the text up to
the last complete line, and counts how many samples ``ast.parse`` accepts.

Taught in: chapters/07_sampling.ipynb
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from llmlab.generate.engine import generate
from llmlab.generate.healing import healed_prompts
from llmlab.generate.sampling import SamplingConfig
from llmlab.generate.text_stream import token_bytes
from llmlab.model import GPT


@torch.no_grad()
def bits_per_byte(
    model: GPT,
    tokenizer,
    texts: Sequence[str],
    *,
    separator_id: int | None = None,
    batch_size: int = 16,
) -> float:
    """Mean bits per byte of every token after the first, over ``texts`` joined
    (with ``separator_id`` between them when given), scored in windows of the
    model's context_length that overlap by one token, so each token is predicted
    exactly once (with up to a window of context)."""
    ids: list[int] = []
    for text in texts:
        ids += tokenizer.encode(text) + (
            [separator_id] if separator_id is not None else []
        )
    if len(ids) < 2:
        raise ValueError(f"texts hold {len(ids)} tokens; need at least 2")
    device = next(model.parameters()).device
    step = model.config.context_length
    starts = list(range(0, len(ids) - 1, step))
    nats = 0.0
    for i in range(0, len(starts), batch_size):
        chunk = [ids[s : s + step + 1] for s in starts[i : i + batch_size]]
        width = max(len(c) for c in chunk)
        x = torch.full((len(chunk), width), -100, dtype=torch.long)
        for row, c in enumerate(chunk):
            x[row, : len(c)] = torch.tensor(c)
        x = x.to(device)
        logits = model(x[:, :-1].clamp(min=0))  # (B, T, V)
        targets = x[:, 1:]  # padding (-100) is ignored
        nats += F.cross_entropy(
            logits.flatten(0, 1).float(),
            targets.flatten(),
            ignore_index=-100,
            reduction="sum",
        ).item()
    n_bytes = len(token_bytes(tokenizer, ids[1:]))
    return nats / math.log(2) / n_bytes


def complete_lines(text: str) -> str:
    """``text`` up to and including its last newline ("" if it has none)."""
    return text[: text.rfind("\n") + 1]


def parses(source: str) -> bool:
    """Whether ``ast.parse`` accepts ``source``."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return False
    return True


def python_samples(
    model: GPT,
    tokenizer,
    *,
    n: int = 100,
    prompt: str = "def ",
    max_new_tokens: int = 200,
    sampling: SamplingConfig = SamplingConfig(temperature=0.8),
    generator: torch.Generator | None = None,
    stop_id: int | None = None,
    heal: bool = True,
    document_start: int | None = None,
) -> list[str]:
    """``n`` samples of ``prompt`` + ``max_new_tokens`` tokens (ending early at
    ``stop_id``, which is dropped), each trimmed to its last complete line.

    With ``heal`` (default) the prompt's last token is re-drawn as the first of
    the new tokens, among those that start with its bytes (``healed_prompts``):
    ``"def "`` ends in a lone space token that training never put before a name.
    ``document_start``: a token id put before the prompt (not in the text), such
    as the end-of-text id that separated files in training, so the prompt opens
    a file (a top-level ``def``) rather than continuing some method.
    """
    opening = [] if document_start is None else [document_start]
    start = opening + tokenizer.encode(prompt)
    if heal:
        starts = healed_prompts(
            model, tokenizer, start, n, sampling=sampling, generator=generator
        )
        max_new_tokens -= 1  # the healed token was the first new one
    else:
        starts = [start] * n
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens} leaves no token to draw")
    new = generate(
        model,
        starts,
        max_new_tokens=max_new_tokens,
        sampling=sampling,
        generator=generator,
        stop_tokens=() if stop_id is None else (stop_id,),
    )
    texts = []
    for begin, tokens in zip(starts, new):
        if stop_id is not None and tokens and tokens[-1] == stop_id:
            tokens = tokens[:-1]
        texts.append(complete_lines(tokenizer.decode(begin[len(opening) :] + tokens)))
    return texts


def reference_samples(
    tokenizer,
    texts: Sequence[str],
    *,
    prompt: str = "def ",
    n_tokens: int = 200,
) -> list[str]:
    """What the parse-rate measurement gives real code: from every line of
    ``texts`` that starts with ``prompt`` (at column 0), the text of the next
    tokens, one for the prompt's healed word plus ``n_tokens`` (as in
    ``python_samples``), trimmed to its last complete line.

    ``parse_rate`` of these is the ceiling a perfect model of ``texts`` would
    reach: a 200-token cut leaves docstrings and brackets open in real code too.
    """
    if not prompt:
        raise ValueError("prompt is empty; the samples start where it occurs")
    if n_tokens < 1:
        raise ValueError(f"n_tokens={n_tokens} must be >= 1")
    samples = []
    for text in texts:
        for match in re.finditer(f"^{re.escape(prompt)}", text, flags=re.MULTILINE):
            ids = _first_tokens(tokenizer, text[match.start() :], n_tokens + 1)
            samples.append(complete_lines(tokenizer.decode(ids)))
    return samples


def _first_tokens(tokenizer, text: str, n: int) -> list[int]:
    """The first ``n`` token ids of ``text`` (all of them if it has fewer).

    Encodes growing prefixes instead of the whole text; cutting a text can change
    the tokens around the cut, so a prefix's first ``n`` ids are taken once a
    prefix twice as long agrees on them."""
    size = 16 * n
    ids = tokenizer.encode(text[:size])
    while size < len(text):
        longer = tokenizer.encode(text[: 2 * size])
        if len(ids) > n and longer[:n] == ids[:n]:
            break
        ids, size = longer, 2 * size
    return ids[:n]


def parse_rate(samples: Sequence[str]) -> float:
    """Share of ``samples`` that hold code and that ``ast.parse`` accepts.

    A sample with nothing but whitespace and comments counts as a failure:
    ``ast.parse`` accepts it, but a sample that never finished a line of code
    (``"def  #  #  # ..."`` has no newline, so trimming leaves ``""``) is not
    valid Python written by the model.
    """
    if not samples:
        raise ValueError("no samples to parse")
    return sum(holds_code(s) and parses(s) for s in samples) / len(samples)


def holds_code(source: str) -> bool:
    """Whether ``source`` has a line that is neither blank nor a comment."""
    return any(
        line.strip() and not line.lstrip().startswith("#")
        for line in source.splitlines()
    )
