"""Training: the loss, AdamW, the schedule, clipping, the step, the loop, checkpoints.

The model zoo and the command line sit one layer up, in ``llmlab.recipes``."""

from llmlab.train.cadence import CheckpointClock, eval_due
from llmlab.train.checkpoint import (
    CheckpointError,
    CheckpointLockedError,
    load_checkpoint,
    save_checkpoint,
)
from llmlab.train.clipping import clip_grad_norm
from llmlab.train.config import TrainConfig
from llmlab.train.evaluation import evaluate, evaluate_loss
from llmlab.train.history import History, plot_history
from llmlab.train.loop import BatchSource, build_optimizer, fit
from llmlab.train.loss import (
    cross_entropy,
    cross_entropy_by_hand,
    next_token_loss,
    perplexity,
)
from llmlab.train.optim import AdamW, param_groups
from llmlab.train.schedule import lr_at
from llmlab.train.step import LossFn, NonFiniteError, split_batch, train_step

__all__ = [
    "AdamW",
    "BatchSource",
    "CheckpointClock",
    "CheckpointError",
    "CheckpointLockedError",
    "History",
    "LossFn",
    "NonFiniteError",
    "TrainConfig",
    "build_optimizer",
    "clip_grad_norm",
    "cross_entropy",
    "cross_entropy_by_hand",
    "eval_due",
    "evaluate",
    "evaluate_loss",
    "fit",
    "load_checkpoint",
    "lr_at",
    "next_token_loss",
    "param_groups",
    "perplexity",
    "plot_history",
    "save_checkpoint",
    "split_batch",
    "train_step",
]
