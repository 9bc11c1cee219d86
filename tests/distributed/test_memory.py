"""Memory per rank: the formulas agree with what the ranks really hold."""

from __future__ import annotations

import pytest

from llmlab.distributed import stage_parameters, state_bytes_per_rank
from llmlab.distributed.parity import make_model
from llmlab.model import PRESETS, count_parameters
from tests.distributed.conftest import RUN

LAYOUT_OF = {"ddp_manual": "ddp", "ddp": "ddp", "fsdp": "fsdp", "tp_manual": "tp"}
LAYOUT_OF |= {"tp": "tp", "gpipe": "pp", "1f1b": "pp", "torch_1f1b": "pp"}


def _frozen_numel() -> int:
    params = dict(make_model(RUN).named_parameters())
    return sum(params[name].numel() for name in RUN.frozen)


@pytest.mark.parametrize("strategy", sorted(LAYOUT_OF))
def test_measured_state_equals_the_formula(strategy, strategy_results):
    results, _ = strategy_results
    layout = LAYOUT_OF[strategy]
    # Frozen weights keep their 4 bytes but have no gradient and no Adam moments.
    frozen_saving = 12 * _frozen_numel() // (2 if layout == "fsdp" else 1)
    if layout == "pp":  # both frozen tensors live on stage 0
        stages = [16 * n for n in stage_parameters(RUN.config, 2)]
        expected = [stages[0] - frozen_saving, stages[1]]
    else:
        expected = [state_bytes_per_rank(RUN.config, layout, 2) - frozen_saving] * 2
    assert [results[r][strategy]["state_bytes"] for r in (0, 1)] == expected


def test_published_sizes():
    for preset in ("gpt2-124m", "gpt3-175b", "llama2-70b"):
        config = PRESETS[preset]
        single = state_bytes_per_rank(config, "single", 4)
        assert single == 16 * count_parameters(config)
        assert state_bytes_per_rank(config, "fsdp", 4) == single / 4
        assert single / 4 < state_bytes_per_rank(config, "tp", 4) < single / 2
        assert single / 4 < state_bytes_per_rank(config, "pp", 4) < single / 2
    gpt3 = state_bytes_per_rank(PRESETS["gpt3-175b"], "single", 1) / 1e9
    assert 2700 < gpt3 < 2900  # 175e9 params · 16 B ≈ 2.8 TB: no single device


def test_unknown_layout_and_uneven_stages():
    with pytest.raises(ValueError, match="'zero'"):
        state_bytes_per_rank(PRESETS["tiny"], "zero", 2)
    with pytest.raises(ValueError, match="pp=8"):
        stage_parameters(PRESETS["gpt2-124m"], 8)
