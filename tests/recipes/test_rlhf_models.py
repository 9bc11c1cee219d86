import dataclasses

import torch

from llmlab.recipes import rlhf_models
from llmlab.recipes.rlhf_models import RLHFRecipe, reward_model, sft_model
from llmlab.rlhf import PPOConfig, RewardConfig, SFTConfig

TINY = RLHFRecipe(
    demonstrations=64,
    candidate_pairs=64,
    sft=SFTConfig(steps=2, batch_size=8),
    reward=RewardConfig(steps=2, batch_size=8),
)


def test_a_stage_trains_once_then_loads(tmp_path, monkeypatch) -> None:
    model, losses = sft_model(TINY, cache_dir=tmp_path)
    assert len(losses) == 2

    def no_training(*args, **kwargs):
        raise AssertionError("the cached stage was trained again")

    monkeypatch.setattr(rlhf_models, "train_sft", no_training)
    again, losses_again = sft_model(TINY, cache_dir=tmp_path)
    assert losses_again == losses
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    # a later stage reuses the cached SFT model instead of training it
    rm, rm_losses = reward_model(TINY, cache_dir=tmp_path)
    assert len(rm_losses) == 2


def test_stage_keys_depend_only_on_what_the_stage_uses() -> None:
    other_ppo = dataclasses.replace(TINY, ppo=PPOConfig(beta=0.5))
    assert rlhf_models._key(TINY, "sft") == rlhf_models._key(other_ppo, "sft")
    assert rlhf_models._key(TINY, "reward") == rlhf_models._key(other_ppo, "reward")
    assert rlhf_models._key(TINY, "ppo") != rlhf_models._key(other_ppo, "ppo")
    other_sft = dataclasses.replace(TINY, sft=SFTConfig(steps=3, batch_size=8))
    for stage in ("sft", "reward", "ppo", "dpo", "grpo"):
        assert rlhf_models._key(TINY, stage) != rlhf_models._key(other_sft, stage)
