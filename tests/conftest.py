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


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory):
    """The quickstart recipe run once on the local engine (about 30 s), shared by the tests that
    need a real run's output folder. They may add files (a card), never change what the run wrote."""
    from dataforge import recipe

    out = tmp_path_factory.mktemp("quickstart") / "local"
    return recipe.load(ROOT / "rules" / "recipes" / "quickstart.yaml").run(out=out, engine="local")
