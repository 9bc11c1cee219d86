"""Checkers for chapter 01, tokenization: streaming decode, ids back to bytes, and
bits per byte, the loss that compares models with different vocabularies.

Right answers come from Python's incremental UTF-8 decoder (``codecs``), from the
text itself (ids must expand to its UTF-8 bytes), and from a unigram model's code
length summed token by token in bits.
"""

from __future__ import annotations

import codecs
import math
import random
from collections import Counter

from llmlab.exercises._core import exercise
from llmlab.tokenizer import BPETokenizer
from llmlab.tokenizer.training import learn_merges

_TEXTS = [
    "plain ASCII, nothing to hold back",
    "héllo wörld, naïve café",
    "今天天气很好，我们去公园散步吧。",
    "I love 🐍 and 🤖!",
    "",
    "mixed: ŵ 🐍 天 low lower lowest",
]


def _trained(n_merges: int) -> tuple[dict[tuple[int, int], int], BPETokenizer]:
    corpus = " ".join(_TEXTS) * 3 + " low lower lowest newer newest wider widest" * 3
    pairs = learn_merges({corpus.encode("utf-8"): 1}, n_merges)
    merges = {pair: 256 + k for k, pair in enumerate(pairs)}
    tokenizer = BPETokenizer(
        byte_ids=list(range(256)),
        merges=[(a, b, new) for (a, b), new in merges.items()],
        special_tokens={},
    )
    return merges, tokenizer


@exercise("decode_stream")
def verify_decode_stream(fn) -> None:
    """``decode_stream(pieces)``: one str per token, shown as soon as it is complete."""
    rng = random.Random(0)
    for text in _TEXTS:
        data = text.encode("utf-8")
        cuts = sorted(rng.sample(range(1, len(data)), max(0, min(len(data) - 1, 12))))
        for pieces in (
            [bytes([b]) for b in data],  # byte by byte
            [data[i:j] for i, j in zip([0, *cuts], [*cuts, len(data)])],  # random cuts
        ):
            got = fn(list(pieces))
            decoder = codecs.getincrementaldecoder("utf-8")()
            want = [decoder.decode(piece) for piece in pieces]
            label = f"text {text!r}, cut into {len(pieces)} tokens"
            assert isinstance(got, list), f"{label}: expected a list, got {type(got)}"
            assert len(got) == len(pieces), (
                f"{label}: {len(got)} strings for {len(pieces)} tokens; return one "
                "string per token (empty while a character is incomplete)"
            )
            assert "".join(got) == text, (
                f"{label}: the pieces join to {''.join(got)!r}, want {text!r}"
            )
            for k, (a, b) in enumerate(zip(got, want)):
                assert a == b, (
                    f"{label}: after token {k} you showed {a!r}, want {b!r}: show "
                    "every complete character as soon as its last byte has arrived"
                )


@exercise("expand_ids")
def verify_expand_ids(fn) -> None:
    """``expand_ids(ids, merged_from)``: ids -> bytes, through the merge tree only."""
    merges, tokenizer = _trained(60)
    merged_from = {new: pair for pair, new in merges.items()}
    deepest = max(merged_from, key=lambda new: len(tokenizer.vocab[new]))
    cases = {text: tokenizer.bpe(list(text.encode("utf-8"))) for text in _TEXTS}
    cases["the longest learned token alone"] = [deepest]
    for label, ids in cases.items():
        got = fn(list(ids), dict(merged_from))
        want = b"".join(tokenizer.vocab[i] for i in ids)
        assert isinstance(got, bytes), f"{label}: expected bytes, got {type(got)}"
        assert got == want, (
            f"{label}: ids {ids[:10]} expanded to {got[:40]!r}, want {want[:40]!r}. "
            "An id below 256 is that byte; any other id is its two parts, expanded."
        )


@exercise("bits_per_byte")
def verify_bits_per_byte(fn) -> None:
    """``bits_per_byte(loss, n_tokens, n_bytes)``: a mean loss in nats per token over
    a text of n_tokens tokens and n_bytes bytes, as bits per byte of that text."""
    _, tokenizer = _trained(40)
    for text in _TEXTS[:4] + [" low lower lowest newer newest wider widest"]:
        ids = tokenizer.encode(text)
        counts = Counter(ids)
        # A unigram model of the text itself: p(id) = its share of the tokens.
        probs = {i: c / len(ids) for i, c in counts.items()}
        loss = -sum(math.log(probs[i]) for i in ids) / len(ids)  # nats per token
        n_bytes = len(text.encode("utf-8"))
        want = -sum(math.log2(probs[i]) for i in ids) / n_bytes  # bits, summed
        got = fn(loss, len(ids), n_bytes)
        label = f"loss {loss:.4f} nats/token, {len(ids)} tokens, {n_bytes} bytes"
        assert isinstance(got, (int, float)) or getattr(got, "ndim", 1) == 0, (
            f"{label}: expected one number, got {type(got).__name__}"
        )
        assert math.isclose(float(got), want, rel_tol=1e-6), (
            f"{label}: got {float(got):.4f}, want {want:.4f} bits per byte. The "
            "text's total cost is loss × n_tokens nats; share it over the bytes, "
            "and 1 bit = ln 2 nats."
        )
