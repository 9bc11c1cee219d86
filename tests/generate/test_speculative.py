import pytest
import torch

from llmlab.generate.engine import generate
from llmlab.generate.sampling import SamplingConfig, filtered_probs
from llmlab.generate.speculative import speculative_generate
from tests.generate.conftest import random_prompts, tiny_model

# Critical value of chi-square with 7 degrees of freedom at significance 0.001.
CHI2_7DF_0001 = 24.322


@pytest.mark.parametrize("n_draft", [1, 3, 5])
def test_greedy_output_equals_the_target_alone(n_draft) -> None:
    target = tiny_model(0, position="rope", n_layers=3)
    draft = tiny_model(1, position="rope", n_layers=1)
    for prompt in random_prompts([1, 5, 12]):
        want = generate(target, [prompt], max_new_tokens=20)[0]
        got = speculative_generate(
            target, draft, prompt, max_new_tokens=20, n_draft=n_draft
        )
        assert got.tokens == want


def test_a_perfect_draft_is_always_accepted() -> None:
    target = tiny_model(0, position="rope")
    result = speculative_generate(target, target, [3, 4], max_new_tokens=20, n_draft=4)
    assert result.acceptance_rate == 1.0
    assert result.target_calls == 1 + 4  # prefill + 20 tokens in blocks of 4 + bonus


def test_stop_token_ends_generation() -> None:
    target, draft = tiny_model(0), tiny_model(1, n_layers=1)
    free = generate(target, [[1, 2]], max_new_tokens=15)[0]
    stop = free[6]
    got = speculative_generate(
        target, draft, [1, 2], max_new_tokens=15, stop_tokens=[stop]
    )
    assert got.tokens == free[: free.index(stop) + 1]


def test_sampled_tokens_are_distributed_as_the_target() -> None:
    V = 8
    target = tiny_model(0, vocab_size=V, position="rope", scale=2.0)
    draft = tiny_model(7, vocab_size=V, position="rope", n_layers=1, scale=2.0)
    prompt = [1, 2, 3]
    config = SamplingConfig(temperature=1.0)
    # exact target distribution of the first two new tokens, by enumeration
    with torch.no_grad():
        p1 = filtered_probs(target(torch.tensor([prompt]))[:, -1], config)[0]
        seconds = torch.tensor([prompt + [t] for t in range(V)])
        p2 = filtered_probs(target(seconds)[:, -1], config)  # (V, V)
    second = p1 @ p2  # marginal of token 2
    g = torch.Generator().manual_seed(0)
    n = 800
    counts = torch.zeros(2, V)
    accepted = proposed = 0
    for _ in range(n):
        r = speculative_generate(
            target,
            draft,
            prompt,
            max_new_tokens=2,
            n_draft=2,
            sampling=config,
            generator=g,
        )
        counts[0, r.tokens[0]] += 1
        counts[1, r.tokens[1]] += 1
        accepted, proposed = accepted + r.accepted, proposed + r.proposed
    for row, probs in zip(counts, (p1, second)):
        chi2 = float(((row - n * probs) ** 2 / (n * probs)).sum())
        assert chi2 < CHI2_7DF_0001, (row / n, probs)
    # the draft disagrees often enough that corrections were exercised
    assert 0.1 < accepted / proposed < 0.95


def test_bad_arguments() -> None:
    target, draft = tiny_model(0), tiny_model(1, vocab_size=32)
    with pytest.raises(ValueError, match="draft vocab_size=32"):
        speculative_generate(target, draft, [1], max_new_tokens=3)
    with pytest.raises(ValueError, match="n_draft=0"):
        speculative_generate(target, target, [1], max_new_tokens=3, n_draft=0)
    with pytest.raises(ValueError, match="repetition_penalty=1.2"):
        speculative_generate(
            target,
            target,
            [1],
            max_new_tokens=3,
            sampling=SamplingConfig(repetition_penalty=1.2),
        )
    with pytest.raises(ValueError, match="exceed context_length=96"):
        speculative_generate(target, target, [1] * 90, max_new_tokens=5)
