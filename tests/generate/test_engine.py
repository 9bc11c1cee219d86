import pytest
import torch

from llmlab.generate.engine import generate, stream
from llmlab.generate.naive import generate_plain
from llmlab.generate.sampling import GREEDY, SamplingConfig
from tests.generate.conftest import random_prompts, tiny_model

SCHEMES = ["learned", "sinusoidal", "rope", "alibi", "none"]


@pytest.mark.parametrize("position", SCHEMES)
def test_cached_equals_plain_greedy_for_prompt_lengths_1_to_64(position) -> None:
    model = tiny_model(position=position)
    prompts = random_prompts(range(1, 65))
    # the plain loop on the left-padded batch equals it prompt by prompt (tested
    # below); the engine runs each prompt alone (no padding) and as one batch
    plain = generate_plain(model, prompts, max_new_tokens=6)
    cached = [generate(model, [p], max_new_tokens=6)[0] for p in prompts]
    assert cached == plain
    assert generate(model, prompts, max_new_tokens=6) == plain
    assert len({tuple(t) for t in plain}) > 10  # the outputs really differ


@pytest.mark.parametrize("position", SCHEMES)
def test_batched_plain_loop_equals_one_by_one(position) -> None:
    model = tiny_model(position=position)
    prompts = random_prompts([3, 17, 1, 9, 64, 40])
    one_by_one = [generate_plain(model, [p], max_new_tokens=5)[0] for p in prompts]
    assert generate_plain(model, prompts, max_new_tokens=5) == one_by_one


def test_greedy_plain_loop_equals_an_argmax_loop() -> None:
    model = tiny_model(position="learned")
    prompt = random_prompts([7])[0]
    ids = torch.tensor([prompt])
    for _ in range(5):
        ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert generate_plain(model, [prompt], max_new_tokens=5)[0] == ids[0, 7:].tolist()


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_same_seed_same_samples_cached_or_not(penalty) -> None:
    model = tiny_model(position="rope", scale=1.5)
    prompts = random_prompts([4, 11, 2])
    config = SamplingConfig(temperature=1.0, top_k=20, repetition_penalty=penalty)

    def run(fn, seed):
        g = torch.Generator().manual_seed(seed)
        return fn(model, prompts, max_new_tokens=12, sampling=config, generator=g)

    assert run(generate, 5) == run(generate_plain, 5)
    assert run(generate, 5) == run(generate, 5)
    assert run(generate, 5) != run(generate, 6)


def test_stop_tokens_end_only_their_row() -> None:
    model = tiny_model(position="rope")
    prompts = random_prompts([5, 8])
    free = generate(model, prompts, max_new_tokens=10)
    stop = free[0][3]
    end = free[0].index(stop) + 1  # the first occurrence ends row 0
    out = generate(model, prompts, max_new_tokens=10, stop_tokens=[[stop], []])
    assert out[0] == free[0][:end]
    assert out[1] == free[1]
    # a shared stop token ends each row at its own first occurrence
    shared = generate(model, prompts, max_new_tokens=10, stop_tokens=[stop])
    for row, tokens in enumerate(free):
        want = tokens[: tokens.index(stop) + 1] if stop in tokens else tokens
        assert shared[row] == want
    assert (
        generate_plain(model, prompts, max_new_tokens=10, stop_tokens=[stop]) == shared
    )


def test_per_row_max_new_tokens() -> None:
    model = tiny_model(position="rope")
    prompts = random_prompts([5, 8, 2])
    free = generate(model, prompts, max_new_tokens=7)
    out = generate(model, prompts, max_new_tokens=[2, 7, 4])
    assert out == [free[0][:2], free[1], free[2][:4]]


def test_stream_yields_the_tokens_generate_returns() -> None:
    model = tiny_model(position="sinusoidal")
    prompts = random_prompts([6, 2])
    steps = list(stream(model, prompts, max_new_tokens=[3, 6]))
    assert len(steps) == 6
    assert [s.active.tolist() for s in steps][2:4] == [[True, True], [False, True]]
    rows = [[int(s.tokens[r]) for s in steps if s.active[r]] for r in range(2)]
    assert rows == generate(model, prompts, max_new_tokens=[3, 6])


def test_context_guard_raises_before_any_forward_pass() -> None:
    model = tiny_model(position="rope")  # context_length 96
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    with pytest.raises(ValueError, match="97 tokens exceeds context_length=96"):
        generate(model, random_prompts([60, 3]), max_new_tokens=37)
    with pytest.raises(ValueError, match="exceeds context_length=96"):
        generate_plain(model, random_prompts([90]), max_new_tokens=7)
    assert calls == []
    assert len(generate(model, random_prompts([60]), max_new_tokens=36)[0]) == 36


def test_a_context_policy_lets_generation_run_past_the_window() -> None:
    model = tiny_model(position="rope", context_length=16)
    calls = []

    def keep_last_8(cache, needed):
        calls.append((cache.filled, needed))
        last = torch.arange(cache.filled - 8, cache.filled)
        cache.keep(last)

    out = generate(model, random_prompts([10]), max_new_tokens=20, policy=keep_last_8)
    assert len(out[0]) == 20
    # the cache has 16 slots: full after the prompt and 6 decode steps, then
    # again 8 steps later (each call frees 8 slots); 19 tokens are fed back
    assert [n for _, n in calls] == [1, 1] and calls[0][0] == 16

    def useless(cache, needed):
        pass

    with pytest.raises(RuntimeError, match="context policy left 16 of 16 slots"):
        generate(model, random_prompts([10]), max_new_tokens=20, policy=useless)


def test_greedy_default_and_bad_arguments() -> None:
    model = tiny_model()
    assert generate(model, [[1, 2]], max_new_tokens=3) == generate(
        model, [[1, 2]], max_new_tokens=3, sampling=GREEDY
    )
    with pytest.raises(ValueError, match=r"prompt\(s\) \[1\] are empty"):
        generate(model, [[1], []], max_new_tokens=3)
    with pytest.raises(ValueError, match="max_new_tokens=0"):
        generate(model, [[1]], max_new_tokens=0)
    with pytest.raises(ValueError, match="max_new_tokens has 1 entries for 2 prompts"):
        generate(model, [[1], [2]], max_new_tokens=[3])
