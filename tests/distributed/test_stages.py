"""Pipeline stages: chained in one process they are the model."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from llmlab.distributed import Stage
from llmlab.model import GPT, PRESETS


@pytest.mark.parametrize("n_stages", [1, 2])
def test_stages_chained_equal_the_whole_model(n_stages, generator):
    config = dataclasses.replace(PRESETS["tiny"], n_layers=4)
    model = GPT(config, generator=generator)
    ids = torch.randint(0, config.vocab_size, (2, 8), generator=generator)
    x = ids
    for i in range(n_stages):
        x = Stage(model, i, n_stages)(x)
    assert torch.equal(x, model(ids))


def test_stage_holds_its_share_and_names_map_back():
    model = GPT(dataclasses.replace(PRESETS["tiny"], n_layers=4))
    first, last = Stage(model, 0, 2), Stage(model, 1, 2)
    assert len(first.blocks) == len(last.blocks) == 2
    assert not hasattr(first, "head") and not hasattr(last, "token_embedding")
    assert last.global_name("blocks.1.ffn.up.weight") == "blocks.3.ffn.up.weight"
    names = {last.global_name(n) for n, _ in last.named_parameters()}
    names |= {first.global_name(n) for n, _ in first.named_parameters()}
    assert names == {n for n, _ in model.named_parameters(remove_duplicate=False)}
    assert first.tied_weight() is last.tied_weight() is model.head.weight


def test_layers_must_divide_into_stages():
    with pytest.raises(ValueError, match="n_layers=2 is not divisible by pp=3"):
        Stage(GPT(PRESETS["tiny"]), 0, 3)
