"""Token healing: let the model choose how a prompt's last token ends.

A byte-level BPE tokenizer attaches a space to the word that follows it
(" name" is one token), so a prompt ending in a space, like ``"def "``, ends in
a lone ``" "`` token that the model almost never saw before a word during
training: it then writes ``"def  x"`` or garbage. Token healing removes the
prompt's last token and makes the first generated token *start with* its
bytes, so ``"def "`` may continue as ``" name"``: the text is the same prompt,
the tokens are the ones training used.

Differs from production versions (such as the ``guidance`` library's) in: only the
prompt's last token is healed, by one extra forward pass before generation starts.

Taught in: chapters/07_sampling.ipynb
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from llmlab.generate.sampling import SamplingConfig, sample
from llmlab.generate.text_stream import token_bytes
from llmlab.model import GPT


def healing_mask(tokenizer, prompt: Sequence[int]) -> tuple[list[int], torch.Tensor]:
    """(prompt without its last token, (V,) bool mask of the tokens whose bytes
    start with that last token's bytes). The removed token is always allowed."""
    if not prompt:
        raise ValueError("token healing needs a prompt of at least one token")
    tail = token_bytes(tokenizer, [prompt[-1]])
    allowed = torch.tensor(
        [
            token_bytes(tokenizer, [i]).startswith(tail)
            for i in range(tokenizer.vocab_size)
        ]
    )
    return list(prompt[:-1]), allowed


@torch.no_grad()
def healed_prompts(
    model: GPT,
    tokenizer,
    prompt: Sequence[int],
    n: int,
    *,
    sampling: SamplingConfig,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """``n`` copies of ``prompt`` whose last token is re-drawn from the model
    among the tokens that start with its bytes (``sampling`` applies within)."""
    base, allowed = healing_mask(tokenizer, prompt)
    device = next(model.parameters()).device
    if base:
        logits = model(torch.tensor([base], device=device))[0, -1]  # (V,)
    else:  # nothing before it: every allowed token is equally likely
        logits = torch.zeros(allowed.shape, device=device)
    candidates = allowed.nonzero().flatten()  # (A,) the tokens that may start
    logits = logits[candidates.to(device)]  # (A,): the sampler sees only these
    first = sample(logits.expand(n, -1), sampling, generator=generator)  # (n,)
    return [base + [int(candidates[i])] for i in first.tolist()]
