from __future__ import annotations

from llmlab.train import CheckpointClock, TrainConfig, eval_due


def test_eval_is_due_on_the_interval_and_at_the_end() -> None:
    config = TrainConfig(max_steps=10, eval_interval=4)
    assert [s for s in range(10) if eval_due(s, config)] == [3, 7, 9]


def test_checkpoints_are_periodic_by_default() -> None:
    """With default settings a long run saves every 100 steps and every 10 minutes,
    not only at the end."""
    now = [0.0]
    clock = CheckpointClock(TrainConfig(max_steps=1000), now=lambda: now[0])
    assert [s for s in range(250) if clock.due(s)] == [99, 199]
    now[0] = 599.0
    assert not clock.due(120)
    now[0] = 600.0
    assert clock.due(120)  # ten minutes since the last save
    clock.saved()
    assert not clock.due(121)


def test_minutes_only_and_the_last_step() -> None:
    now = [0.0]
    config = TrainConfig(max_steps=5, checkpoint_interval=None, checkpoint_minutes=0.5)
    clock = CheckpointClock(config, now=lambda: now[0])
    assert [s for s in range(5) if clock.due(s)] == [4]
    now[0] = 30.0
    assert clock.due(0)
