"""TrainConfig: every setting of a training run, in one frozen dataclass.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrainConfig:
    max_steps: int = 200
    """Optimizer steps to take in total."""
    batch_size: int = 16
    """Windows per optimizer step (summed over gradient-accumulation micro-batches)."""
    seq_len: int | None = None
    """Tokens per window; None means the model's context_length."""
    grad_accum_steps: int = 1
    """Micro-batches per optimizer step; each holds batch_size // grad_accum_steps."""
    lr: float = 3e-3
    """Peak learning rate, reached at the end of warmup."""
    min_lr: float = 3e-4
    """Learning rate at the end of the cosine decay, and after it."""
    warmup_steps: int = 20
    """Steps of linear warmup from 0 to lr."""
    weight_decay: float = 0.1
    """AdamW decoupled weight decay, applied to matrices only (not biases, norms)."""
    betas: tuple[float, float] = (0.9, 0.95)
    """AdamW moving-average rates for the gradient and its square."""
    eps: float = 1e-8
    """AdamW denominator guard."""
    grad_clip: float | None = 1.0
    """Largest global gradient norm; None turns clipping off."""
    eval_interval: int = 50
    """Evaluate the validation loss every this many steps (and at the last step)."""
    eval_batches: int = 8
    """Validation batches per evaluation."""
    checkpoint_interval: int | None = 100
    """Save a checkpoint every this many steps (needs a checkpoint directory)."""
    checkpoint_minutes: float | None = 10.0
    """Also save when this many minutes have passed since the last save."""
    seed: int = 0
    """Seed for the batch-sampling generator when fit() is given none."""
    mixed_precision: bool = True
    """Use bf16 autocast when training on CUDA; ignored on other devices."""
    compile: bool = False
    """Wrap the model in torch.compile when training on CUDA; ignored elsewhere."""
    cpu_bf16: bool = False
    """Also use bf16 autocast on a CPU whose matmuls run natively in bf16
    (AVX512-BF16 or AMX: about 2x faster there); ignored on other CPUs, which
    would only emulate it."""

    def __post_init__(self) -> None:
        self._check_numbers()
        positive = (
            "max_steps",
            "batch_size",
            "grad_accum_steps",
            "eval_interval",
            "eval_batches",
        )
        for name in positive:
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        for name in ("seq_len", "checkpoint_interval"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"{name}={value!r} must be a positive int or None")
        if self.batch_size % self.grad_accum_steps:
            raise ValueError(
                f"batch_size={self.batch_size} must be divisible by "
                f"grad_accum_steps={self.grad_accum_steps}"
            )
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"need 0 <= min_lr={self.min_lr} <= lr={self.lr}")
        if not _is_int(self.warmup_steps) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps={self.warmup_steps!r} must be an int >= 0")
        if self.weight_decay < 0 or self.eps <= 0:
            raise ValueError(
                f"weight_decay={self.weight_decay} must be >= 0 and eps={self.eps} > 0"
            )
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas={self.betas!r} must be two numbers in [0, 1)")
        for name in ("grad_clip", "checkpoint_minutes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name}={value} must be > 0 or None")
        if not _is_int(self.seed):
            raise ValueError(f"seed={self.seed!r} must be an int")
        for name in ("mixed_precision", "compile", "cpu_bf16"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r} must be a bool")

    def _check_numbers(self) -> None:
        """Every numeric setting is a real, finite number (NaN < 0 is False!)."""
        values = {
            name: getattr(self, name)
            for name in ("lr", "min_lr", "weight_decay", "eps", "grad_clip")
        }
        values["checkpoint_minutes"] = self.checkpoint_minutes
        if not isinstance(self.betas, (tuple, list)):
            raise ValueError(f"betas={self.betas!r} must be two numbers in [0, 1)")
        values.update({f"betas[{i}]": b for i, b in enumerate(self.betas)})
        for name, value in values.items():
            if value is None and name in ("grad_clip", "checkpoint_minutes"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}={value!r} must be a number")
            if not math.isfinite(value):
                raise ValueError(f"{name}={value!r} must be finite")

    @property
    def micro_batch_size(self) -> int:
        return self.batch_size // self.grad_accum_steps

    def to_dict(self) -> dict:
        """Plain JSON-ready values (for checkpoints)."""
        return {**asdict(self), "betas": list(self.betas)}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return cls(**{**values, "betas": tuple(values["betas"])})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
