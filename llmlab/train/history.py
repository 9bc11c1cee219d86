"""The metrics history of a training run, and a loss-curve plot for notebooks.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """What happened at each step: ``train_loss[i]`` belongs to ``step[i]``."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    """Steps after which the validation loss was measured."""
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    """Every metric a step's loss function reported, one value per step."""
    tokens_seen: int = 0
    """Input tokens trained on, all ranks together (``loop.input_tokens`` per batch)."""
    seconds: float = 0.0
    """Wall-clock time spent in training steps and evaluation."""

    @property
    def val_perplexity(self) -> list[float]:
        return [math.exp(loss) for loss in self.val_loss]

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_seen / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def record(self, step: int, metrics: dict[str, float], lr: float) -> None:
        """Append one step: its metrics (``loss``, ``grad_norm``, ...) and rate."""
        self.step.append(step)
        self.train_loss.append(metrics["loss"])
        self.grad_norm.append(metrics["grad_norm"])
        self.lr.append(lr)
        for name, value in metrics.items():
            self.metrics.setdefault(name, []).append(value)

    @classmethod
    def from_dict(cls, values: dict) -> History:
        return cls(**values)


def plot_history(history: History, ax=None, *, smooth: int = 10):
    """Train loss (raw and a running mean over ``smooth`` steps) and validation loss.

    Returns the matplotlib Axes; matplotlib is imported here, not at module import.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history.step, history.train_loss, alpha=0.3, color="C0", label="train")
    if len(history.train_loss) >= smooth > 1:
        mean = _running_mean(history.train_loss, smooth)
        ax.plot(
            history.step[smooth - 1 :],
            mean,
            color="C0",
            label=f"train (mean of {smooth})",
        )
    if history.val_loss:
        ax.plot(
            history.val_step, history.val_loss, "o-", color="C1", label="validation"
        )
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats / token)")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _running_mean(values: list[float], n: int) -> list[float]:
    out, total = [], sum(values[: n - 1])
    for i in range(n - 1, len(values)):
        total += values[i]
        out.append(total / n)
        total -= values[i - n + 1]
    return out
