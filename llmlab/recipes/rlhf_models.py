"""The trained stages of the alignment chapters, built on demand and cached on disk.

Chapters 13–16 run one pipeline on the review task of ``llmlab.rlhf.task``:
SFT → reward model → PPO (β > 0 and β = 0), DPO and GRPO. Each stage is trained
the first time it is asked for (seconds to a minute or two on a laptop CPU) and
loaded from ``cache_dir`` afterwards, like the zoo. A stage's cache key hashes the
recipe settings it depends on (its own config and those of the stages before it),
the torch version and the stage's code version (``_CODE_VERSIONS``); every seed is
fixed, so the same recipe gives the same models, and changing, say, the PPO config
retrains PPO without retraining SFT.

Taught in: chapters/13_sft.ipynb to chapters/16_dpo_grpo.ipynb
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.dpo import DPOConfig, train_dpo
from llmlab.rlhf.grpo import GRPOConfig, train_grpo
from llmlab.rlhf.ppo import PPOConfig, train_ppo
from llmlab.rlhf.reward_model import (
    Pairs,
    RewardConfig,
    RewardModel,
    train_reward_model,
)
from llmlab.rlhf.sft import SFTConfig, train_sft
from llmlab.utils.atomic import atomic_replace

_CODE_VERSIONS = {"sft": 1, "reward": 1, "dpo": 1, "ppo": 2, "ppo-no-kl": 2, "grpo": 2}
"""Bump a stage's number when a code change alters what it trains (2: rollouts
sampled with ``llmlab.generate``, rows stopping at <end>)."""
_DATA = ("seed", "demonstrations", "sft")
_PAIRS = (*_DATA, "candidate_pairs", "held_out")
_STAGE_FIELDS = {
    "sft": _DATA,
    "reward": (*_PAIRS, "reward"),
    "dpo": (*_PAIRS, "dpo"),
    "ppo": (*_PAIRS, "reward", "ppo"),
    "ppo-no-kl": (*_PAIRS, "reward", "ppo_no_kl"),
    "grpo": (*_PAIRS, "reward", "grpo"),
}
"""The recipe fields each stage's result depends on."""


@dataclass(frozen=True)
class RLHFRecipe:
    """Every setting of the pipeline: data sizes, seeds and each stage's config."""

    seed: int = 0
    demonstrations: int = 4000
    """SFT demonstrations."""
    candidate_pairs: int = 6000
    """Response pairs shown to the labeler (ties are dropped)."""
    held_out: float = 0.1
    """Fraction of labeled pairs kept out of reward-model training."""
    sft: SFTConfig = field(default_factory=SFTConfig)
    reward: RewardConfig = field(default_factory=lambda: RewardConfig(steps=300))
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(beta=0.2))
    ppo_no_kl: PPOConfig = field(default_factory=lambda: PPOConfig(beta=0.0))
    dpo: DPOConfig = field(default_factory=lambda: DPOConfig(lr=1e-3))
    grpo: GRPOConfig = field(default_factory=GRPOConfig)


def demonstrations(recipe: RLHFRecipe) -> tuple[torch.Tensor, torch.Tensor]:
    """Rendered demonstrations (ids, assistant mask), both (N, T)."""
    g = torch.Generator().manual_seed(recipe.seed)
    prompts = task.sample_prompts(recipe.demonstrations, generator=g)
    return task.render(prompts, task.sample_demonstrations(prompts, generator=g))


def preference_pairs(recipe: RLHFRecipe) -> tuple[Pairs, Pairs]:
    """(train, held_out) labeled pairs, each (chosen_ids, chosen_mask,
    rejected_ids, rejected_mask)."""
    g = torch.Generator().manual_seed(recipe.seed + 1)
    prompts = task.sample_prompts(recipe.candidate_pairs, generator=g)
    first = task.sample_demonstrations(prompts, generator=g)
    second = task.sample_demonstrations(prompts, generator=g)
    p, chosen, rejected = task.label_pairs(prompts, first, second)
    pairs = (*task.render(p, chosen), *task.render(p, rejected))
    split = int(len(p) * (1 - recipe.held_out))
    return tuple(x[:split] for x in pairs), tuple(x[split:] for x in pairs)


def sft_model(recipe: RLHFRecipe, *, cache_dir: Path) -> tuple[GPT, list]:
    """The SFT model (eval mode) and its training losses."""

    def build() -> tuple[GPT, list]:
        model = _fresh_gpt(recipe.seed)
        ids, mask = demonstrations(recipe)
        g = torch.Generator().manual_seed(recipe.seed + 2)
        return model, train_sft(model, ids, mask, recipe.sft, generator=g)

    return _cached("sft", recipe, cache_dir, GPT(task.MODEL_CONFIG), build)


def reward_model(recipe: RLHFRecipe, *, cache_dir: Path) -> tuple[RewardModel, list]:
    """The reward model (trunk initialised from the SFT model) and its losses."""

    def build() -> tuple[RewardModel, list]:
        sft, _ = sft_model(recipe, cache_dir=cache_dir)
        g = torch.Generator().manual_seed(recipe.seed + 3)
        model = RewardModel.from_lm(sft, generator=g)
        train, _ = preference_pairs(recipe)
        return model, train_reward_model(model, train, recipe.reward, generator=g)

    return _cached("reward", recipe, cache_dir, RewardModel(task.MODEL_CONFIG), build)


def ppo_policy(
    recipe: RLHFRecipe, *, cache_dir: Path, no_kl: bool = False
) -> tuple[GPT, list]:
    """The PPO policy (β from ``recipe.ppo``, or ``recipe.ppo_no_kl``) and its
    per-step history."""
    config = recipe.ppo_no_kl if no_kl else recipe.ppo

    def build() -> tuple[GPT, list]:
        sft, _ = sft_model(recipe, cache_dir=cache_dir)
        rm, _ = reward_model(recipe, cache_dir=cache_dir)
        policy, value = copy.deepcopy(sft), copy.deepcopy(rm)
        g = torch.Generator().manual_seed(recipe.seed + 4)
        return policy, train_ppo(policy, value, sft, rm, config, generator=g)

    name = "ppo-no-kl" if no_kl else "ppo"
    return _cached(name, recipe, cache_dir, GPT(task.MODEL_CONFIG), build)


def dpo_policy(recipe: RLHFRecipe, *, cache_dir: Path) -> tuple[GPT, list]:
    """The DPO policy, trained on the reward model's training pairs."""

    def build() -> tuple[GPT, list]:
        sft, _ = sft_model(recipe, cache_dir=cache_dir)
        policy = copy.deepcopy(sft)
        train, _ = preference_pairs(recipe)
        g = torch.Generator().manual_seed(recipe.seed + 5)
        return policy, train_dpo(policy, sft, train, recipe.dpo, generator=g)

    return _cached("dpo", recipe, cache_dir, GPT(task.MODEL_CONFIG), build)


def grpo_policy(recipe: RLHFRecipe, *, cache_dir: Path) -> tuple[GPT, list]:
    """The GRPO policy, trained against the same reward model as PPO."""

    def build() -> tuple[GPT, list]:
        sft, _ = sft_model(recipe, cache_dir=cache_dir)
        rm, _ = reward_model(recipe, cache_dir=cache_dir)
        policy = copy.deepcopy(sft)
        g = torch.Generator().manual_seed(recipe.seed + 6)
        return policy, train_grpo(policy, sft, rm, recipe.grpo, generator=g)

    return _cached("grpo", recipe, cache_dir, GPT(task.MODEL_CONFIG), build)


def _fresh_gpt(seed: int) -> GPT:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GPT(task.MODEL_CONFIG)


def _cached(name: str, recipe: RLHFRecipe, cache_dir: Path, empty: nn.Module, build):
    """Load stage ``name`` from the cache into ``empty``, else ``build()`` and save."""
    directory = Path(cache_dir) / "rlhf" / f"{name}-{_key(recipe, name)[:16]}"
    weights, history_file = directory / "model.safetensors", directory / "history.json"
    if history_file.is_file():
        load_model(empty, str(weights))
        return empty.eval(), json.loads(history_file.read_text())
    model, history = build()
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_replace(weights) as tmp:
        save_model(model, str(tmp))
    with atomic_replace(history_file) as tmp:  # written last: marks the entry done
        tmp.write_text(json.dumps(history))
    return model.eval(), history


def _key(recipe: RLHFRecipe, stage: str) -> str:
    settings = dataclasses.asdict(recipe)
    used = {field: settings[field] for field in _STAGE_FIELDS[stage]}
    used["code_version"] = _CODE_VERSIONS[stage]
    text = json.dumps(used, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    digest.update(torch.__version__.split("+")[0].encode())
    return digest.hexdigest()
