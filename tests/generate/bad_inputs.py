"""Bad input to generation and the error it gives: one case list, read by
tests/test_troubleshooting.py and scripts/troubleshooting_page.py (see
tests/tokenizer/bad_inputs.py for the format of a case).
"""

from __future__ import annotations

import torch

from llmlab.generate import SamplingConfig, generate, sample, speculative_generate
from llmlab.model import GPT, GPTConfig

SECTION = "Generation"
INTRO = (
    "Errors from `llmlab.generate` (the same checks run behind "
    "`python -m llmlab.generate`). Settings are checked when they are made, "
    "prompts before any token is computed. The examples use a model with a "
    "vocabulary of 64 and a context of 32 tokens."
)
NOTES = ""

CONFIG = GPTConfig(
    vocab_size=64, context_length=32, d_model=16, n_heads=2, n_layers=1, d_ff=32
)


def _model(**overrides) -> GPT:
    import dataclasses

    config = dataclasses.replace(CONFIG, **overrides)
    return GPT(config, generator=torch.Generator().manual_seed(0)).eval()


CASES = [
    {
        "title": "A negative temperature",
        "code": "SamplingConfig(temperature=-1)",
        "run": lambda w: SamplingConfig(temperature=-1),
        "raises": ValueError,
        "match": r"temperature=-1 must be a finite number >= 0",
    },
    {
        "title": "top-p given as a percentage",
        "code": "SamplingConfig(top_p=90)",
        "run": lambda w: SamplingConfig(top_p=90),
        "raises": ValueError,
        "match": r"top_p=90 must be in \(0, 1\]",
    },
    {
        "title": "top-k of 0 (meaning 'off' in some libraries)",
        "code": "SamplingConfig(top_k=0)",
        "run": lambda w: SamplingConfig(top_k=0),
        "raises": ValueError,
        "match": r"top_k=0 must be an int >= 1 or None",
    },
    {
        "title": "Logits with a NaN (a model that diverged)",
        "code": 'sample(torch.tensor([[0.0, float("nan")]]), SamplingConfig())',
        "run": lambda w: sample(torch.tensor([[0.0, float("nan")]]), SamplingConfig()),
        "raises": ValueError,
        "match": r"logits must be finite, got nan at row 0, token 1",
    },
    {
        "title": "A prompt and a token budget longer than the context",
        "code": "generate(model, [[1] * 20], max_new_tokens=20)",
        "run": lambda w: generate(_model(), [[1] * 20], max_new_tokens=20),
        "raises": ValueError,
        "match": r"40 tokens exceeds context_length=32",
    },
    {
        "title": "An empty prompt",
        "code": "generate(model, [[5, 6], []], max_new_tokens=4)",
        "run": lambda w: generate(_model(), [[5, 6], []], max_new_tokens=4),
        "raises": ValueError,
        "match": r"prompt\(s\) \[1\] are empty",
    },
    {
        "title": "A token id from another tokenizer",
        "code": "generate(model, [[100]], max_new_tokens=4)",
        "run": lambda w: generate(_model(), [[100]], max_new_tokens=4),
        "raises": ValueError,
        "match": r"token id 100 is outside 0..63",
    },
    {
        "title": "A draft model with another vocabulary",
        "code": "speculative_generate(target, draft, [1, 2], max_new_tokens=8)",
        "run": lambda w: speculative_generate(
            _model(), _model(vocab_size=32), [1, 2], max_new_tokens=8
        ),
        "raises": ValueError,
        "match": r"draft vocab_size=32 differs from target vocab_size=64",
    },
    {
        "title": "A misspelt zoo model",
        "code": 'pretrained("stdlib-smal")',
        "run": lambda w: _pretrained("stdlib-smal"),
        "raises": KeyError,
        "match": r"no zoo model named 'stdlib-smal'; known: \[",
    },
]


def _pretrained(name: str):
    from llmlab.recipes import pretrained

    return pretrained(name, progress=False)
