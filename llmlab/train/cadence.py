"""When a training loop evaluates and saves: named helpers any loop can call.

Pretraining (``fit``), SFT, reward-model, DPO and PPO loops all ask the same two
questions after each step: is an evaluation due, and is a checkpoint due? A
checkpoint is due every ``checkpoint_interval`` steps, every
``checkpoint_minutes`` of wall-clock time since the last save, and at the last
step, so an interrupted or crashed run loses at most that much work.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import time
from collections.abc import Callable

from llmlab.train.config import TrainConfig


def is_last(step: int, config: TrainConfig) -> bool:
    return step + 1 == config.max_steps


def eval_due(step: int, config: TrainConfig) -> bool:
    """After step ``step`` (0-based): every ``eval_interval`` steps and at the end."""
    return (step + 1) % config.eval_interval == 0 or is_last(step, config)


class CheckpointClock:
    """Says when a checkpoint is due, by steps, by minutes and at the end.

    >>> clock = CheckpointClock(TrainConfig(max_steps=10, checkpoint_interval=4))
    >>> [s for s in range(10) if clock.due(s)]  # doctest: +SKIP
    [3, 7, 9]

    Call ``saved()`` after each save to restart the minutes count. ``now`` is
    injectable for tests (default ``time.monotonic``).
    """

    def __init__(
        self, config: TrainConfig, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.config, self.now = config, now
        self.last_save = now()

    def due(self, step: int) -> bool:
        every, minutes = self.config.checkpoint_interval, self.config.checkpoint_minutes
        if is_last(step, self.config):
            return True
        if every is not None and (step + 1) % every == 0:
            return True
        return minutes is not None and self.now() - self.last_save >= 60 * minutes

    def saved(self) -> None:
        self.last_save = self.now()
