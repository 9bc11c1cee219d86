import math

import pytest
import torch

from llmlab.generate.sampling import (
    SamplingConfig,
    filtered_probs,
    min_p_filter,
    repetition_penalty,
    sample,
    top_k_filter,
    top_p_filter,
)


def _kept(filtered: torch.Tensor) -> list[list[int]]:
    return [torch.isfinite(row).nonzero().flatten().tolist() for row in filtered]


@pytest.mark.parametrize("k", [1, 3, 7, 10])
def test_top_k_keeps_exactly_k_largest(k) -> None:
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(k))
    kept = _kept(top_k_filter(logits, k))
    for row, ids in zip(logits, kept):
        assert len(ids) == k
        assert set(ids) == set(row.argsort(descending=True)[:k].tolist())
    # kept logits are unchanged
    out = top_k_filter(logits, k)
    assert torch.equal(out[torch.isfinite(out)], logits[torch.isfinite(out)])


def test_top_k_keeps_exactly_k_even_with_ties() -> None:
    logits = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    assert len(_kept(top_k_filter(logits, 2))[0]) == 2


def test_top_p_keeps_smallest_set_with_mass_at_least_p() -> None:
    probs = torch.tensor([[0.1, 0.5, 0.05, 0.3, 0.05]])
    logits = probs.log()
    assert _kept(top_p_filter(logits, 0.5)) == [[1]]  # 0.5 ≥ 0.5 exactly
    assert _kept(top_p_filter(logits, 0.51)) == [[1, 3]]
    assert _kept(top_p_filter(logits, 0.75)) == [[1, 3]]
    assert _kept(top_p_filter(logits, 0.85)) == [[0, 1, 3]]
    assert _kept(top_p_filter(logits, 1.0)) == [[0, 1, 2, 3, 4]]
    assert _kept(top_p_filter(logits, 1e-6)) == [[1]]


def test_top_p_ties_at_the_boundary_keep_the_lower_ids() -> None:
    logits = torch.tensor([[0.4, 0.2, 0.2, 0.2]]).log()
    assert _kept(top_p_filter(logits, 0.5)) == [[0, 1]]


def test_top_p_against_a_loop_on_random_rows() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 12, generator=g) * 2
    for p in (0.3, 0.7, 0.95):
        got = _kept(top_p_filter(logits, p))
        for row, ids in zip(torch.softmax(logits, -1).tolist(), got):
            order = sorted(range(len(row)), key=lambda i: -row[i])
            want, mass = [], 0.0
            for i in order:
                want.append(i)
                mass += row[i]
                if mass >= p:
                    break
            assert sorted(want) == ids


def test_min_p_threshold() -> None:
    logits = torch.tensor([[0.6, 0.3, 0.1]]).log()
    assert _kept(min_p_filter(logits, 0.25)) == [[0, 1]]
    assert _kept(min_p_filter(logits, 0.5)) == [[0, 1]]  # 0.3 ≥ 0.5 × 0.6
    assert _kept(min_p_filter(logits, 0.51)) == [[0]]
    assert _kept(min_p_filter(logits, 1.0)) == [[0]]


def test_repetition_penalty_makes_seen_tokens_less_likely() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [2.0, -1.0, 0.5]])
    previous = torch.tensor([[0, 1, -1], [-1, -1, 2]])
    out = repetition_penalty(logits, previous, 2.0)
    assert torch.equal(out, torch.tensor([[1.0, -2.0, 0.5], [2.0, -1.0, 0.25]]))


def test_temperature_to_zero_equals_greedy() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(64, 50, generator=g) * 3
    cold = sample(logits, SamplingConfig(temperature=1e-4), generator=g)
    greedy = sample(logits, SamplingConfig(temperature=0.0), generator=g)
    assert torch.equal(cold, logits.argmax(-1))
    assert torch.equal(greedy, logits.argmax(-1))


def test_seeded_sampling_is_reproducible_and_seed_dependent() -> None:
    logits = torch.zeros(8, 100)
    config = SamplingConfig(top_k=50)

    def draw(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.stack([sample(logits, config, generator=g) for _ in range(5)])

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


def _reference_filtered(logits, temperature, top_k, top_p, min_p):
    """The documented order, written out on Python floats."""
    z = [x / temperature for x in logits]
    keep = sorted(range(len(z)), key=lambda i: -z[i])[:top_k]
    total = sum(math.exp(z[i]) for i in keep)
    probs = {i: math.exp(z[i]) / total for i in keep}
    nucleus, mass = [], 0.0
    for i in sorted(probs, key=lambda i: -probs[i]):
        nucleus.append(i)
        mass += probs[i]
        if mass >= top_p:
            break
    top = max(probs[i] for i in nucleus)
    final = [i for i in nucleus if probs[i] >= min_p * top]
    total = sum(probs[i] for i in final)
    return {i: probs[i] / total for i in final}


def test_empirical_frequencies_match_the_filtered_distribution() -> None:
    logits = [2.0, 1.5, 1.2, 1.0, 0.7, 0.3, -0.5, -1.0, 0.9, 1.4]
    config = SamplingConfig(temperature=0.8, top_k=8, top_p=0.95, min_p=0.1)
    want = _reference_filtered(logits, 0.8, 8, 0.95, 0.1)
    probs = filtered_probs(torch.tensor([logits]), config)[0]
    for i in range(len(logits)):
        assert probs[i].item() == pytest.approx(want.get(i, 0.0), abs=1e-6)
    n = 20_000
    g = torch.Generator().manual_seed(2024)
    draws = sample(torch.tensor([logits]).expand(n, -1), config, generator=g)
    counts = torch.bincount(draws, minlength=len(logits)).tolist()
    assert all(counts[i] == 0 for i in range(len(logits)) if i not in want)
    chi2 = sum((counts[i] - n * p) ** 2 / (n * p) for i, p in want.items())
    # Critical values of chi-square at significance 0.001 (from standard tables).
    critical = {4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322}[len(want) - 1]
    assert chi2 < critical, (chi2, counts, want)


def test_a_wrong_distribution_fails_the_same_chi_square() -> None:
    """The test above has power: sampling from the unfiltered softmax fails it."""
    logits = torch.tensor([[2.0, 1.5, 1.2, 1.0, 0.7, 0.3, -0.5, -1.0, 0.9, 1.4]])
    want = _reference_filtered(logits[0].tolist(), 0.8, 8, 0.95, 0.1)
    g = torch.Generator().manual_seed(2024)
    n = 20_000
    draws = sample(logits.expand(n, -1), SamplingConfig(temperature=0.8), generator=g)
    counts = torch.bincount(draws, minlength=10).tolist()
    chi2 = sum((counts[i] - n * p) ** 2 / (n * p) for i, p in want.items())
    assert chi2 > 24.322


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"temperature": -0.5}, "temperature=-0.5"),
        ({"temperature": float("nan")}, "temperature=nan"),
        ({"top_k": 0}, "top_k=0"),
        ({"top_p": 0.0}, "top_p=0.0"),
        ({"top_p": 1.5}, "top_p=1.5"),
        ({"min_p": 0.0}, "min_p=0.0"),
        ({"min_p": -0.1}, "min_p=-0.1"),
        ({"repetition_penalty": 0.0}, "repetition_penalty=0.0"),
    ],
)
def test_invalid_settings_raise_naming_the_value(kwargs, text) -> None:
    with pytest.raises(ValueError, match=text.replace("(", r"\(")):
        SamplingConfig(**kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_non_finite_logits_raise(bad, temperature) -> None:
    logits = torch.zeros(2, 5)
    logits[1, 3] = bad
    with pytest.raises(ValueError, match=f"{bad} at row 1, token 3"):
        sample(logits, SamplingConfig(temperature=temperature))
