"""Schedules as data, and the bubble: hand-worked orders and fractions."""

from __future__ import annotations

import pytest

from llmlab.distributed import Event, bubble_fraction, measured_bubble, schedule_order


def test_gpipe_runs_all_forwards_then_all_backwards():
    order = schedule_order("gpipe", stage=0, n_stages=2, m=2)
    assert order == [("F", 0), ("F", 1), ("B", 0), ("B", 1)]


def test_1f1b_warms_up_then_alternates():
    assert schedule_order("1f1b", stage=0, n_stages=2, m=3) == [
        ("F", 0), ("F", 1), ("B", 0), ("F", 2), ("B", 1), ("B", 2)
    ]  # fmt: skip
    assert schedule_order("1f1b", stage=1, n_stages=2, m=3) == [
        ("F", 0), ("B", 0), ("F", 1), ("B", 1), ("F", 2), ("B", 2)
    ]  # fmt: skip


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("stage", [0, 1, 3])
def test_every_micro_batch_runs_once_each_way(schedule, stage):
    order = schedule_order(schedule, stage=stage, n_stages=4, m=6)
    assert sorted(order) == sorted([(k, i) for k in "FB" for i in range(6)])
    for i in range(6):  # a backward never comes before its forward
        assert order.index(("F", i)) < order.index(("B", i))


def test_1f1b_keeps_at_most_p_micro_batches_in_flight():
    def peak(order):
        live = best = 0
        for kind, _ in order:
            live += 1 if kind == "F" else -1
            best = max(best, live)
        return best

    assert peak(schedule_order("1f1b", stage=0, n_stages=4, m=8)) == 4
    assert peak(schedule_order("gpipe", stage=0, n_stages=4, m=8)) == 8


def test_unknown_schedule():
    with pytest.raises(ValueError, match="'zigzag'"):
        schedule_order("zigzag", stage=0, n_stages=2, m=2)


def test_bubble_fraction_formula():
    assert bubble_fraction(2, 1) == 0.5
    assert bubble_fraction(4, 8) == pytest.approx(3 / 11)
    assert bubble_fraction(1, 5) == 0.0


def test_measured_bubble_of_an_ideal_timeline_is_the_formula():
    # p=2, m=2 GPipe with unit forwards and backwards: draw it by hand.
    rank0 = [Event("F", 0, 0, 1), Event("F", 1, 1, 2), Event("B", 0, 4, 5),
             Event("B", 1, 5, 6)]  # fmt: skip
    rank1 = [Event("F", 0, 1, 2), Event("F", 1, 2, 3), Event("B", 0, 3, 4),
             Event("B", 1, 4, 5)]  # fmt: skip
    # Each rank is busy 4 of 6 units (span 0..6): bubble 1/3 = (p-1)/(m+p-1).
    assert measured_bubble([rank0, rank1]) == pytest.approx(bubble_fraction(2, 2))
