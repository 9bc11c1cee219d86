"""Every strategy trains like one process: same losses, same weights, same
checkpoint, frozen parameters untouched, tied copies equal."""

from __future__ import annotations

import pytest
import torch

from llmlab.distributed.parity import STRATEGIES, make_model
from llmlab.model import GPT
from llmlab.train import checkpoint
from tests.distributed.conftest import (
    LOSS_ATOL,
    PARAM_ATOL,
    RUN,
    max_abs_diff,
    reference_for,
)


def test_training_moves_the_weights_far_beyond_the_tolerance(references):
    # Otherwise parity within PARAM_ATOL would prove nothing.
    initial = make_model(RUN).state_dict()
    moved = max_abs_diff(references["batch"]["state"], initial)
    assert moved > 100 * PARAM_ATOL


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_losses_and_weights_match_one_process(strategy, strategy_results, references):
    results, _ = strategy_results
    ours, ref = results[0][strategy], reference_for(strategy, references)
    assert len(ours["losses"]) == RUN.steps
    assert ours["losses"] == pytest.approx(ref["losses"], abs=LOSS_ATOL)
    assert results[1][strategy]["losses"] == ours["losses"]  # every rank agrees
    assert max_abs_diff(ours["state"], ref["state"]) < PARAM_ATOL


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_frozen_parameters_stay_as_initialised(strategy, strategy_results):
    results, _ = strategy_results
    initial = make_model(RUN).state_dict()
    for name in RUN.frozen:
        assert torch.equal(results[0][strategy]["state"][name], initial[name])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tied_embedding_and_head_stay_one_matrix(strategy, strategy_results):
    assert RUN.config.tie_embeddings
    state = strategy_results[0][0][strategy]["state"]
    assert torch.equal(state["head.weight"], state["token_embedding.weight"])


@pytest.mark.parametrize(
    "same",
    [("ddp_manual", "ddp"), ("gpipe", "1f1b")],
    ids=["written-out DDP = torch DDP", "GPipe = 1F1B"],
)
def test_bitwise_equal_where_the_arithmetic_is_the_same(same, strategy_results):
    # Halving is exact, so averaging before or after the sum gives the same bits;
    # GPipe and 1F1B run the same micro-batch computations in another order.
    results, _ = strategy_results
    a, b = (results[0][name]["state"] for name in same)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert results[0][same[0]]["losses"] == results[0][same[1]]["losses"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_checkpoint_reloads_into_one_process_model(strategy, strategy_results):
    results, root = strategy_results
    model = GPT(RUN.config)
    index = checkpoint.load_checkpoint(f"{root}/{strategy}", modules={"model": model})
    assert index["step"] == RUN.steps
    loaded = model.state_dict()
    assert max_abs_diff(loaded, results[0][strategy]["state"]) == 0.0


@pytest.mark.parametrize("strategy", ["fsdp", "tp"])
def test_activation_checkpointing_composes_without_changing_the_result(
    strategy, strategy_results
):
    # parallelize(): TP -> activation checkpointing -> FSDP/DDP. Recomputing the
    # blocks in backward gives the same arithmetic, so the same bits.
    results, _ = strategy_results
    plain, checkpointed = results[0][strategy], results[0][f"{strategy}+ac"]
    assert checkpointed["losses"] == plain["losses"]
    assert all(
        torch.equal(checkpointed["state"][k], v) for k, v in plain["state"].items()
    )
