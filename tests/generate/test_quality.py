import math

import pytest
import torch

from llmlab.generate.quality import (
    bits_per_byte,
    complete_lines,
    parse_rate,
    parses,
    python_samples,
    reference_samples,
)
from llmlab.tokenizer import ByteTokenizer
from tests.generate.conftest import tiny_model

TEXTS = ["def f(x):\n    return x + 1\n", "naïve = 'café'\n" * 3]


def test_bits_per_byte_of_a_uniform_model_is_log2_vocab() -> None:
    model = tiny_model(vocab_size=256, context_length=16)
    with torch.no_grad():
        model.head.weight.zero_()  # also the tied embedding: every logit is 0
    tokenizer = ByteTokenizer()
    assert bits_per_byte(model, tokenizer, TEXTS) == pytest.approx(8.0, rel=1e-6)


def test_bits_per_byte_against_a_windowed_loop() -> None:
    model = tiny_model(vocab_size=256, context_length=16, scale=1.0)
    tokenizer = ByteTokenizer()
    ids = [i for t in TEXTS for i in tokenizer.encode(t)]
    nats = 0.0
    for start in range(0, len(ids) - 1, 16):  # windows overlap by one token
        window = torch.tensor([ids[start : start + 17]])
        logp = torch.log_softmax(model(window[:, :-1]), dim=-1)[0]
        nats -= logp.gather(1, window[0, 1:, None]).sum().item()
    want = nats / math.log(2) / (len(ids) - 1)
    got = bits_per_byte(model, tokenizer, TEXTS, batch_size=3)
    assert got == pytest.approx(want, rel=1e-5)


def test_complete_lines_and_parses() -> None:
    assert (
        complete_lines("def f():\n    return 1\n    x = (")
        == "def f():\n    return 1\n"
    )
    assert complete_lines("no newline") == ""
    assert parses("def f():\n    return 1\n")
    assert not parses("def f():\n")
    assert not parses("x = \0")
    assert parse_rate(["x = 1\n", "def (", "", "if x:\n"]) == 0.25
    # parses, but holds no code: a sample that never finished a line
    assert parses("# only a comment\n\n") and parses("")
    assert parse_rate(["# only a comment\n", "\n", "# c\ny = 2  # c\n"]) == 1 / 3
    with pytest.raises(ValueError, match="no samples"):
        parse_rate([])


def test_python_samples_start_with_the_prompt_and_end_on_a_line() -> None:
    model = tiny_model(vocab_size=256, context_length=64, scale=1.0)
    samples = python_samples(
        model,
        ByteTokenizer(),
        n=5,
        max_new_tokens=40,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(samples) == 5
    for s in samples:
        assert s == "" or (s.startswith("def ") and s.endswith("\n"))


CODE = (
    "import os\n\n\ndef first(x):\n    return x + 1\n\n\nclass C:\n"
    "    def method(self):\n        return 2\n\n\ndef second():\n"
    '    """A docstring long enough to be cut off by a short window."""\n'
    "    return 3\n"
)


def test_reference_samples_start_at_each_top_level_prompt() -> None:
    tokenizer = ByteTokenizer()  # one token per byte: windows are byte counts
    samples = reference_samples(tokenizer, [CODE, "x = 1\n"], n_tokens=40)
    starts = [i for i in range(len(CODE)) if CODE.startswith("\ndef ", i - 1)]
    assert len(samples) == len(starts) == 2  # the indented method is not one
    for sample, start in zip(samples, starts):
        assert sample == complete_lines(CODE[start : start + 41])
        assert sample.startswith("def ") and sample.endswith("\n")
    assert parse_rate(samples) == 0.5  # the second window cuts the docstring


def test_reference_samples_encode_prefixes_exactly() -> None:
    from llmlab.tokenizer import BPETokenizer

    tokenizer = BPETokenizer.train(CODE * 20, vocab_size=300)
    text = "def " + CODE * 3  # longer than the first prefix (16 bytes per token)
    for n in (1, 5, 17, 60):
        sample = reference_samples(tokenizer, [text], n_tokens=n)[0]
        full = tokenizer.encode(text)[: n + 1]  # 16 bytes per token: cut for n < 60
        assert sample == complete_lines(tokenizer.decode(full))


@pytest.mark.parametrize(
    "kwargs, match", [({"prompt": ""}, "empty"), ({"n_tokens": 0}, "n_tokens=0")]
)
def test_reference_samples_refuse_bad_settings(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        reference_samples(ByteTokenizer(), [CODE], **kwargs)
