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

# `make test` runs the suite on two workers (pytest-xdist, `--dist loadgroup`). Tests that
# start a Ray cluster run on one worker, one module after another (two clusters at once on two
# cores starve each other), with the tests that share the quickstart run (built once per
# worker); vLLM's tests share one engine cache and are heavy: one worker too.
XDIST_GROUPS = {
    "test_ray_all_ops": "ray", "test_ray_engine": "ray", "test_publish": "ray",
    "test_add_operator::test_toy_global_operator_runs_alike_on_both_engines": "ray",
    "test_llm_vllm_cpu": "vllm",
    "test_suite_groups": "ray",  # checks that the groups reach xdist
}


# tryfirst: xdist's worker reads the marks in its own collection hook, so this one must run first
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        module = Path(str(item.fspath)).stem
        group = XDIST_GROUPS.get(f"{module}::{item.originalname}") or XDIST_GROUPS.get(module)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def artifacts_dir() -> Path:
    d = ROOT / "test-artifacts"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the session (a start costs ~5 s; three modules used to start
    their own). Operators defined in test modules travel by value: each module registers itself
    with `ray.cloudpickle.register_pickle_by_value`."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


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
