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


QUICKSTART_ROWS = 300  # rows per source in the tests' quickstart: the same steps, about a fifth of the rows


@pytest.fixture(scope="session")
def quickstart_recipe(tmp_path_factory) -> Path:
    """rules/recipes/quickstart.yaml as written (steps, key order, name), each source read to
    at most QUICKSTART_ROWS rows (`make quickstart` runs it whole): what the tests run."""
    import re

    text = (ROOT / "rules" / "recipes" / "quickstart.yaml").read_text()
    text, n = re.subn(r"(?m)^(\s+)path: (sample_data/\S+)$",
                      lambda m: f"{m[1]}path: {ROOT / m[2]}\n{m[1]}limit: {QUICKSTART_ROWS}", text)
    assert n >= 6, "the quickstart's sources moved: update tests/conftest.py"
    path = tmp_path_factory.mktemp("recipe") / "quickstart.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory, quickstart_recipe):
    """The tests' quickstart run once on the local engine, shared by the tests that need a
    real run's output folder. They may add files (a card), never change what the run wrote."""
    from dataforge import recipe

    out = tmp_path_factory.mktemp("quickstart") / "local"
    return recipe.load(quickstart_recipe).run(out=out, engine="local")
