"""Pretraining: the loss, AdamW, the schedule, clipping, the loop and checkpoints.

The model zoo and the command line sit one layer up, in ``llmlab.recipes``."""

from llmlab.train.checkpoint import CheckpointError
from llmlab.train.clipping import clip_grad_norm
from llmlab.train.config import TrainConfig
from llmlab.train.history import History, plot_history
from llmlab.train.loop import build_optimizer, evaluate, fit, train_step
from llmlab.train.loss import cross_entropy, cross_entropy_by_hand, perplexity
from llmlab.train.optim import AdamW, param_groups
from llmlab.train.schedule import lr_at

__all__ = [
    "AdamW",
    "CheckpointError",
    "History",
    "TrainConfig",
    "build_optimizer",
    "clip_grad_norm",
    "cross_entropy",
    "cross_entropy_by_hand",
    "evaluate",
    "fit",
    "lr_at",
    "param_groups",
    "perplexity",
    "plot_history",
    "train_step",
]
