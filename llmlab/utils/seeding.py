"""Seeding, explicitly.

``seed_everything`` seeds Python's, NumPy's and torch's global generators for a
notebook or script. Library functions that sample take a ``torch.Generator``
argument instead of relying on global state.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed the global generators and return a fresh ``torch.Generator`` seeded too."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
