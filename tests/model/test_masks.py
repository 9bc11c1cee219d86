from __future__ import annotations

import pytest
import torch

from llmlab.model import AttentionMask


def test_causal_is_the_lower_triangle() -> None:
    want = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    assert torch.equal(AttentionMask().dense(3), want)


def test_sliding_window_by_hand() -> None:
    want = torch.tensor(
        [
            [1, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 1, 1, 0],
            [0, 0, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(AttentionMask(window=2).dense(4), want)


def test_strided_sparse_by_hand() -> None:
    # stride 2: the local band (distance < 2) plus every even distance.
    got = AttentionMask(stride=2).dense(5)
    want = torch.tensor(
        [
            [1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [1, 1, 1, 0, 0],
            [0, 1, 1, 1, 0],
            [1, 0, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(got, want)


def test_queries_are_the_last_positions_when_keys_are_longer() -> None:
    # Two new queries after three cached keys see all earlier keys.
    got = AttentionMask().dense(2, 5)
    assert torch.equal(got, AttentionMask().dense(5)[3:])


def test_tiles_reassemble_the_dense_mask() -> None:
    mask = AttentionMask(window=3, stride=2)
    pos = torch.arange(10)
    dense = mask.dense(10)
    for r in range(0, 10, 4):
        for c in range(0, 10, 3):
            tile = mask.tile(pos[r : r + 4], pos[c : c + 3])
            assert torch.equal(tile, dense[r : r + 4, c : c + 3])


def test_bad_masks_are_rejected() -> None:
    with pytest.raises(ValueError, match="window=0"):
        AttentionMask(window=0)
    with pytest.raises(ValueError, match="causal"):
        AttentionMask(causal=False, window=2)
    with pytest.raises(ValueError, match="key_len=2 must be >= seq_len=3"):
        AttentionMask().dense(3, 2)
