"""Shared fixtures: paths, seeded generators and the tiny model config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)
