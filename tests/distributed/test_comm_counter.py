"""Bytes on the wire, counted from the collectives, agree with the formulas."""

from __future__ import annotations

import pytest

from llmlab.distributed import wire_bytes
from llmlab.distributed.parity import make_model
from tests.distributed.conftest import RUN


def _trainable_bytes() -> int:
    model = make_model(RUN)
    return sum(p.numel() * 4 for p in model.parameters() if p.requires_grad)


def _all_bytes() -> int:
    return sum(p.numel() * 4 for p in make_model(RUN).parameters())


def test_ring_formulas():
    assert wire_bytes("all_reduce", 1000, 2) == 1000
    assert wire_bytes("all_reduce", 1000, 4) == 1500
    assert wire_bytes("all_gather", 1000, 4) == 750
    with pytest.raises(ValueError, match="'gossip'"):
        wire_bytes("gossip", 1, 2)


def test_written_out_ddp_sends_one_ring_all_reduce_of_the_gradients(strategy_results):
    results, _ = strategy_results
    n = 2
    expected = 2 * (n - 1) / n * _trainable_bytes()  # frozen weights send nothing
    # Per step, plus the 4-byte loss average the parity runner all-reduces.
    assert results[0]["ddp_manual"]["wire_bytes"] == expected + 4


def test_torch_ddp_sends_the_same_within_a_tiny_overhead(strategy_results):
    results, _ = strategy_results
    ours = results[0]["ddp_manual"]["wire_bytes"]
    assert ours <= results[0]["ddp"]["wire_bytes"] < ours * 1.001


def test_fsdp_gathers_weights_and_reduce_scatters_gradients(strategy_results):
    results, _ = strategy_results
    n, params, grads = 2, _all_bytes(), _trainable_bytes()
    measured = results[0]["fsdp"]["wire_bytes"] - 4  # minus the loss average
    # Forward gathers every weight; backward re-gathers the blocks (the root
    # stays gathered); gradients are reduce-scattered once.
    root = params - sum(p.numel() * 4 for p in make_model(RUN).blocks.parameters())
    expected = (n - 1) / n * (params + (params - root) + grads)
    assert measured == pytest.approx(expected, rel=1e-9)


def test_tensor_parallel_all_reduces_activations_not_weights(strategy_results):
    results, _ = strategy_results
    B, T, D, L = RUN.batch_size, RUN.seq_len, RUN.config.d_model, RUN.config.n_layers
    activation = B * T * D * 4
    # Written out: per block one all-reduce in forward and one in backward, for
    # attention and for the feed-forward network.
    assert results[0]["tp_manual"]["wire_bytes"] == 4 * L * activation


def test_pipeline_sends_activations_and_their_gradients(strategy_results):
    results, _ = strategy_results
    B, T, D = RUN.batch_size, RUN.seq_len, RUN.config.d_model
    tied = RUN.config.vocab_size * D * 4  # the tied matrix's gradients, all-reduced
    loss = 4 / 2  # the loss broadcast from the last stage
    for name in ("gpipe", "1f1b"):
        for rank in (0, 1):  # rank 0 sends activations, rank 1 their gradients
            sent = results[rank][name]["wire_bytes"]
            assert sent == B * T * D * 4 + tied + loss
