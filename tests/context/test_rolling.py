"""Rolling the KV cache: equal to a windowed forward pass, and to a fresh forward
over the kept tokens; the cache never grows; generation runs past the window."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from llmlab.context import (
    AttentionSinks,
    DropOldest,
    SlidingWindow,
    generate_streaming,
    roll,
    streaming_nll,
)
from llmlab.model import GPT, PRESETS, KVCache

BASE = dataclasses.replace(PRESETS["tiny"], context_length=16)


def model(position: str, **changes) -> GPT:
    torch.manual_seed(0)
    return GPT(dataclasses.replace(BASE, position=position, **changes)).eval()


def windowed_twin(m: GPT, window: int) -> GPT:
    twin = GPT(dataclasses.replace(m.config, attention_window=window)).eval()
    twin.load_state_dict(m.state_dict())
    return twin


@pytest.mark.parametrize("position", ["rope", "alibi", "none"])
def test_sliding_stream_equals_a_sliding_window_mask(position) -> None:
    """Each streamed token saw exactly its W most recent tokens, in every layer."""
    m, W = model(position, n_layers=3), 8
    ids = torch.randint(
        0, BASE.vocab_size, (50,), generator=torch.Generator().manual_seed(1)
    )
    got = streaming_nll(m, ids, SlidingWindow(W), window=W)
    with torch.no_grad():
        logits = windowed_twin(m, W)(ids[None], extrapolate=True)[0, :-1]
    want = F.cross_entropy(logits, ids[1:], reduction="none")
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("position", ["rope", "alibi", "none"])
@pytest.mark.parametrize(
    "policy", [AttentionSinks(sinks=2), SlidingWindow(), DropOldest(chunk=3)]
)
def test_rolled_cache_equals_a_fresh_forward_over_the_kept_tokens(position, policy):
    """One layer: a cached key depends only on its token and position, so after
    re-indexing (RoPE keys re-rotated) the cache is what a fresh pass would build."""
    m, W = model(position, n_layers=1), 8
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, BASE.vocab_size, (40,), generator=g).tolist()
    cache = KVCache(m.config, batch_size=1, max_len=W)
    in_cache: list[int] = []
    with torch.no_grad():
        for token in ids:
            if cache.filled >= W:
                dropped = roll(cache, policy, room=W - 1, model=m)
                kept = policy.kept(len(in_cache), W - 1)
                assert dropped == len(in_cache) - len(kept) > 0
                in_cache = [in_cache[i] for i in kept]
            position_ = torch.tensor([[cache.filled]])
            got = m(torch.tensor([[token]]), cache=cache, positions=position_)[0, -1]
            in_cache.append(token)
            fresh = m(torch.tensor([in_cache]))[0, -1]
            torch.testing.assert_close(got, fresh, atol=1e-4, rtol=1e-4)
            assert cache.filled == len(in_cache) <= W


def test_sinks_matter_for_absolute_positions_they_are_documented_as_approximate():
    """Learned positions: a kept key keeps the position it was computed at, so the
    rolled cache differs from a fresh pass (the module docstring says so)."""
    m, W = model("learned", n_layers=1), 8
    ids = torch.randint(0, BASE.vocab_size, (30,), generator=torch.Generator())
    nll = streaming_nll(m, ids, AttentionSinks(sinks=2), window=W)
    assert nll.shape == (29,) and torch.isfinite(nll).all()


def test_generation_runs_far_past_the_window_with_a_bounded_cache() -> None:
    m, W = model("rope", n_layers=2), 8
    out = generate_streaming(
        m, [1, 2, 3], AttentionSinks(sinks=2), window=W, max_new_tokens=60
    )
    assert len(out) == 60  # 63 tokens through a model whose window is 16
    twin = windowed_twin(m, W)
    seq = [1, 2, 3]
    with torch.no_grad():
        for _ in range(60):  # greedy with a W-wide mask over the whole sequence
            seq.append(int(twin(torch.tensor([seq]), extrapolate=True)[0, -1].argmax()))
    slide = generate_streaming(
        m, [1, 2, 3], SlidingWindow(), window=W, max_new_tokens=60
    )
    assert slide == seq[3:]


def test_bad_arguments() -> None:
    m = model("rope")
    with pytest.raises(ValueError, match="window=40 must be in 2..context_length=16"):
        streaming_nll(m, torch.arange(5), SlidingWindow(), window=40)
    with pytest.raises(ValueError, match="prompt is empty"):
        generate_streaming(m, [], SlidingWindow(), window=8, max_new_tokens=1)


@pytest.mark.parametrize("policy", [SlidingWindow(), AttentionSinks(sinks=3)])
def test_the_generate_engine_rolls_the_same_way(policy) -> None:
    from llmlab.context import as_context_policy
    from llmlab.generate import generate

    m = model("rope", n_layers=2)
    prompt = [5, 6, 7, 8]
    ours = generate_streaming(
        m, prompt, policy, window=BASE.context_length, max_new_tokens=50
    )
    engine = generate(
        m, [prompt], max_new_tokens=50, policy=as_context_policy(policy, m)
    )
    assert engine == [ours]  # 54 tokens through a 16-token window, both ways
