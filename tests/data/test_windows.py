from __future__ import annotations

import numpy as np
import pytest
import torch

from llmlab.data.windows import sample_windows, sequential_windows, split_train_val


def test_targets_are_inputs_shifted_by_one() -> None:
    tokens = np.arange(100, dtype=np.uint16)
    x, y = sample_windows(
        tokens, batch_size=5, seq_len=7, generator=torch.Generator().manual_seed(0)
    )
    assert x.shape == y.shape == (5, 7) and x.dtype == torch.int64
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y[:, -1], x[:, -1] + 1)  # contiguous windows of arange


def test_same_generator_state_same_batch_and_all_offsets_reachable() -> None:
    tokens = torch.arange(12)
    a = sample_windows(
        tokens, batch_size=3, seq_len=4, generator=torch.Generator().manual_seed(1)
    )
    b = sample_windows(
        tokens, batch_size=3, seq_len=4, generator=torch.Generator().manual_seed(1)
    )
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    x, _ = sample_windows(
        tokens, batch_size=2000, seq_len=4, generator=torch.Generator().manual_seed(2)
    )
    assert set(x[:, 0].tolist()) == set(range(8))  # 12 - 4 starts, last one included


def test_split_keeps_the_tail_for_validation() -> None:
    train, val = split_train_val(np.arange(10), val_fraction=0.2)
    assert train.tolist() == list(range(8)) and val.tolist() == [8, 9]


def test_sequential_windows_cover_the_stream_in_order() -> None:
    tokens = np.arange(21)
    batches = list(sequential_windows(tokens, batch_size=3, seq_len=5))
    xs = torch.cat([x for x, _ in batches])
    assert xs[:, 0].tolist() == [0, 5, 10, 15]
    assert (
        len(list(sequential_windows(tokens, batch_size=1, seq_len=5, max_batches=2)))
        == 2
    )


@pytest.mark.parametrize(
    "tokens, error, message",
    [
        (np.arange(5), ValueError, "seq_len=8 needs 9 tokens"),
        (np.zeros((2, 20), dtype=np.int64), ValueError, "1-D"),
        (np.zeros(20, dtype=np.float32), TypeError, "integer"),
        ([1, 2, 3], TypeError, "list"),
    ],
)
def test_bad_streams_are_named(tokens, error, message) -> None:
    with pytest.raises(error, match=message):
        sample_windows(tokens, batch_size=1, seq_len=8)


def test_bad_split_fraction() -> None:
    with pytest.raises(ValueError, match="val_fraction=1.5"):
        split_train_val(np.arange(10), val_fraction=1.5)
