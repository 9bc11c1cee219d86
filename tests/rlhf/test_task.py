import pytest
import torch

from llmlab.rlhf import task


def _one(prompt: str, response: str) -> tuple[torch.Tensor, torch.Tensor]:
    ids = task.encode(response)
    padded = ids + [task.PAD] * (task.RESPONSE_LEN - len(ids))
    return torch.tensor([task.encode(prompt)]), torch.tensor([padded])


@pytest.mark.parametrize(
    "response, want",
    [
        ("the film was great fun <end>", 3.0),  # topic + two positive words
        ("great great <end>", 0.0),  # +1, then −1 for the repeat
        ("dull and bland <end>", -2.0),
        ("film film film <end>", -1.0),  # topic once, two repeats
        ("fun <end> great great great", 1.0),  # after <end> nothing counts
        ("fun <user> <end>", 0.0),  # a stray special token costs 1
        ("great fun lovely clever warm bright fresh superb <end>", 8.0),
    ],
)
def test_true_score_by_hand(response: str, want: float) -> None:
    prompt, resp = _one("<user> film <assistant>", response)
    assert task.true_score(prompt, resp).item() == want


def test_demonstrations_are_reproducible_and_well_formed() -> None:
    prompts = task.sample_prompts(200, generator=torch.Generator().manual_seed(0))
    a = task.sample_demonstrations(prompts, generator=torch.Generator().manual_seed(1))
    b = task.sample_demonstrations(prompts, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    lengths = task.response_length(a)
    assert lengths.min() == 4 and lengths.max() == 7  # 3–6 words + <end>
    for row, n in zip(a.tolist(), lengths.tolist()):
        words = row[: n - 1]
        assert row[n - 1] == task.END and len(set(words)) == len(words)
        assert all(w >= len(task.SPECIALS) for w in words)


def test_labeler_prefers_the_higher_true_score_and_drops_ties() -> None:
    prompts = torch.tensor([task.encode("<user> film <assistant>")] * 3)
    first = torch.cat(
        [_one("", r)[1] for r in ("great <end>", "dull <end>", "a <end>")]
    )
    second = torch.cat(
        [_one("", r)[1] for r in ("dull <end>", "fun <end>", "so <end>")]
    )
    p, chosen, rejected = task.label_pairs(prompts, first, second)
    assert len(p) == 2  # "a" vs "so" tie: dropped
    assert task.decode(chosen[0]) == "great <end>"
    assert task.decode(chosen[1]) == "fun <end>"
    assert task.decode(rejected[1]) == "dull <end>"


def test_render_masks_exactly_the_assistant_tokens() -> None:
    prompt, response = _one("<user> book <assistant>", "a fun book <end> bad bad")
    ids, mask = task.render(prompt, response)
    assert task.decode(ids[0]) == "<user> book <assistant> a fun book <end>"
    assert mask[0].tolist() == [False] * 3 + [True] * 4 + [False] * 5


def test_encode_names_unknown_words() -> None:
    with pytest.raises(KeyError, match="'splendid'"):
        task.encode("splendid")
