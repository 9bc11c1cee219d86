"""Context model recipes: train once into the cache, load after; the fact fine-tune."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from llmlab.recipes.context_models import (
    CONTEXT_MODELS,
    RECALL_TASK,
    ContextModelSpec,
    context_model,
    fact_stream,
    fine_tune_fact,
)
from llmlab.train.config import TrainConfig

TINY = ContextModelSpec(
    name="recall-tiny",
    model=dataclasses.replace(CONTEXT_MODELS["recall"].model, d_model=16, d_ff=32),
    train=TrainConfig(max_steps=3, batch_size=2, warmup_steps=1, eval_interval=100),
    n_tokens=2000,
)


def test_trains_once_then_loads_from_the_cache(tmp_path) -> None:
    first = context_model(TINY, cache_dir=tmp_path)
    entries = list((tmp_path / "context").iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("recall-tiny-")
    stamp = entries[0].stat().st_mtime_ns
    again = context_model(TINY, cache_dir=tmp_path)
    assert entries[0].stat().st_mtime_ns == stamp  # not rebuilt
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    assert not again.training


def test_fact_stream_plants_the_fact_first_and_nowhere_else() -> None:
    ids = fact_stream(RECALL_TASK, 5, 17, 640, seed=0).view(-1, RECALL_TASK.doc_len)
    assert (ids[:, :3] == torch.tensor([RECALL_TASK.mark, 5, 17])).all()
    assert not (ids[:, 3:] == 5).any()


def test_fine_tune_moves_the_weights_and_is_cached(tmp_path) -> None:
    base = context_model(TINY, cache_dir=tmp_path)
    tuned = fine_tune_fact(base, key=5, value=17, steps=2, cache_dir=tmp_path)
    moved = [
        not torch.equal(a, b)
        for a, b in zip(base.state_dict().values(), tuned.state_dict().values())
    ]
    assert any(moved)
    n_entries = len(list((tmp_path / "context").iterdir()))
    fine_tune_fact(base, key=5, value=17, steps=2, cache_dir=tmp_path)
    assert len(list((tmp_path / "context").iterdir())) == n_entries


def test_unknown_names_and_data_are_rejected() -> None:
    with pytest.raises(KeyError, match="no context model 'nope'"):
        context_model("nope")
    with pytest.raises(ValueError, match="data='images'"):
        ContextModelSpec(name="x", model=TINY.model, data="images")
