"""kill -9 at the late points of a run (after the last stage, after the first shard, when the
exports start, after the manifest) and at random moments: the rerun produces the same shards,
exports, manifest and report as a run that was never killed.

The late points use the test hook DATAFORGE_TEST_KILL_AT (dataforge/testing/killpoints.py)."""
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataforge.testing.killpoints import ENV, POINTS

ROOT = Path(__file__).resolve().parents[1]
RECIPE = """name: killme
seed: 5
batch_size: 100
sources:
  - path: {alpaca}
    limit: 400
pipeline:
  - normalize: {{}}
  - op: length
    field: output
    min: 20
output:
  splits: {{train: 0.8, test: 0.2}}
  max_rows_per_shard: 60
  formats: [messages, alpaca]
"""


def _run(recipe: Path, out: Path, kill_at: str | None = None, timeout: float = 300):
    env = dict(os.environ)
    env.pop(ENV, None)
    if kill_at:
        env[ENV] = kill_at
    return subprocess.run([sys.executable, "-m", "dataforge.cli", "run", str(recipe), "-o", str(out)],
                          env=env, capture_output=True, text=True, timeout=timeout)


def _snapshot(out: Path) -> dict[str, str]:
    """sha256 of every file a finished run leaves (checkpoints aside); the manifest's
    `timings` (seconds per stage) differ between any two runs by nature and are left out."""
    return {str(p.relative_to(out)): hashlib.sha256(_bytes(p)).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and ".checkpoints" not in p.parts}


def _bytes(p: Path) -> bytes:
    if p.name != "manifest.json" or p.parent.name == "data":
        return p.read_bytes()
    m = json.loads(p.read_text())
    assert m.pop("timings")["stages"]
    return json.dumps(m, sort_keys=True).encode()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    recipe = d / "r.yaml"
    recipe.write_text(RECIPE.format(alpaca=ROOT / "sample_data" / "alpaca.jsonl"))
    t0 = time.perf_counter()
    res = _run(recipe, d / "out")
    assert res.returncode == 0, res.stderr
    snap = _snapshot(d / "out")
    assert any(k.startswith("messages/") for k in snap) and "report/index.html" in snap
    assert sum(k.startswith("data/") for k in snap) >= 3  # several shards: "first shard" is not the last
    return recipe, snap, time.perf_counter() - t0, d / "out"


def _fresh(out: Path) -> Path:
    """The reference's own folder, emptied: the report names its output folder."""
    shutil.rmtree(out, ignore_errors=True)
    return out


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_late_point_resumes_identically(reference, tmp_path, point):
    recipe, ref, _, out = reference
    _fresh(out)
    killed = _run(recipe, out, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-2000:])
    res = _run(recipe, out)
    assert res.returncode == 0, res.stderr
    assert _snapshot(out) == ref


@pytest.mark.slow
def test_kill_at_random_moments_resumes_identically(reference, tmp_path):
    recipe, ref, seconds, out = reference
    rng = random.Random(13)
    for i in range(2):
        _fresh(out)
        proc = subprocess.Popen([sys.executable, "-m", "dataforge.cli", "run", str(recipe), "-o", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env={k: v for k, v in os.environ.items() if k != ENV})
        time.sleep(rng.uniform(0.3, 1.0) * seconds)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        res = _run(recipe, out)
        assert res.returncode == 0, res.stderr
        assert _snapshot(out) == ref, f"kill {i}"
