import pytest
import torch

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.reward_model import (
    RewardConfig,
    RewardModel,
    reward_accuracy,
    train_reward_model,
    values_for_tokens,
)


def _pairs(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    prompts = task.sample_prompts(n, generator=g)
    a = task.sample_demonstrations(prompts, generator=g)
    b = task.sample_demonstrations(prompts, generator=g)
    p, chosen, rejected = task.label_pairs(prompts, a, b)
    return (*task.render(p, chosen), *task.render(p, rejected))


def test_from_lm_copies_the_trunk_and_reads_the_last_response_token() -> None:
    torch.manual_seed(0)
    lm = GPT(task.MODEL_CONFIG).eval()
    rm = RewardModel.from_lm(lm).eval()
    ids, mask, *_ = _pairs(8, seed=0)
    with torch.no_grad():
        per_position = rm(ids)
        hidden = _final_hidden_states(lm, ids)
        want = rm.score_head(hidden).squeeze(-1)
        assert torch.allclose(per_position, want, atol=1e-5)
        last = mask.cumsum(1).argmax(1)  # first index reaching the row's total
        got = rm.score(ids, mask)
    assert torch.allclose(got, per_position[torch.arange(len(ids)), last])
    # a padding token after the response does not change the score (causal)
    ids2 = ids.clone()
    ids2[:, -1] = task.encode("great")[0]
    assert torch.allclose(rm.score(ids2, mask), got, atol=1e-6)


def _final_hidden_states(lm: GPT, ids: torch.Tensor) -> torch.Tensor:
    """What the language model feeds its vocabulary head, caught with a hook."""
    caught = []
    hook = lm.head.register_forward_hook(
        lambda m, inputs, out: caught.append(inputs[0])
    )
    lm(ids)
    hook.remove()
    return caught[0]


def test_values_are_shifted_to_the_state_before_each_token() -> None:
    rm = RewardModel(task.MODEL_CONFIG).eval()
    ids, *_ = _pairs(4, seed=1)
    with torch.no_grad():
        v = values_for_tokens(rm, ids)
        assert (v[:, 0] == 0).all()
        assert torch.allclose(v[:, 5], rm(ids[:, :5])[:, -1], atol=1e-5)


def test_reward_model_beats_chance_on_held_out_pairs() -> None:
    torch.manual_seed(0)
    rm = RewardModel(task.MODEL_CONFIG)
    train, held_out = _pairs(1500, seed=2), _pairs(400, seed=3)
    before = reward_accuracy(rm, held_out)
    config = RewardConfig(steps=80, batch_size=32, lr=2e-3)
    train_reward_model(rm, train, config, generator=torch.Generator().manual_seed(4))
    after = reward_accuracy(rm, held_out)
    assert after > 0.8 and after > before + 0.2, (before, after)


def test_score_rejects_an_empty_mask() -> None:
    rm = RewardModel(task.MODEL_CONFIG)
    ids = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="True entry"):
        rm.score(ids, torch.zeros(1, 4, dtype=torch.bool))
