from __future__ import annotations

import math

import pytest

from llmlab.train.history import History, _running_mean, plot_history


def _history() -> History:
    return History(
        step=[0, 1, 2, 3],
        train_loss=[4.0, 3.0, 2.0, 1.0],
        lr=[0.1] * 4,
        grad_norm=[1.0] * 4,
        val_step=[3],
        val_loss=[1.5],
        tokens_seen=400,
        seconds=2.0,
    )


def test_derived_values_and_round_trip() -> None:
    history = _history()
    assert history.val_perplexity == [pytest.approx(math.exp(1.5))]
    assert history.tokens_per_second == 200
    assert History.from_dict(history.to_dict()) == history


def test_running_mean() -> None:
    assert _running_mean([1, 2, 3, 4], 2) == [1.5, 2.5, 3.5]


def test_plot_draws_train_and_val() -> None:
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_history(_history(), smooth=2)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train", "train (mean of 2)", "validation"]
