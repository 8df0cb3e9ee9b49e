"""Shared fixtures. Everything runs offline: models are built in the tests or shipped by packages."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def artifacts_dir() -> Path:
    d = ROOT / "test-artifacts"
    d.mkdir(exist_ok=True)
    return d
