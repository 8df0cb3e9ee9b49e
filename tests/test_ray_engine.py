"""The Ray engine gives the local engine's results: same shards (bytes), rejects, stages, metrics.

One local Ray session (2 CPUs) for the whole module; these tests start Ray, so they are slow.
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

ray = pytest.importorskip("ray")

from dataforge import recipe  # noqa: E402
from dataforge.engine.accounting import AccountingError  # noqa: E402
from dataforge.errors import MissingResourceError  # noqa: E402
from dataforge.ops import base  # noqa: E402
from dataforge.ops.base import FilterOp, GlobalOp, MapOp  # noqa: E402
from dataforge.pipeline import OutputSpec, Pipeline  # noqa: E402
from dataforge.io.shards import ShardSpec  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def ray_session(ray_cluster):
    # operators defined in this file travel to the workers by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield


# -- operators only the tests use ------------------------------------------------------

class Tagger(MapOp):
    """Loads a word list in setup() (so it runs in an actor pool) and tags rows with it."""

    name = "test_tagger"
    resources = {"num_cpus": 1}
    outputs = ("score_tagged",)

    def setup(self):
        self.words = {"write", "explain", "describe"}

    def map(self, df):
        first = df["instruction"].str.extract(r"^(\w+)").str.to_lowercase()
        return df.with_columns(score_tagged=first.is_in(list(self.words)).cast(pl.Float64))


class Dropper(MapOp):
    name = "test_dropper"

    def map(self, df):
        return df.head(df.height // 2)


class NeedsGpu(FilterOp):
    name = "test_gpu"
    resources = {"num_gpus": 1}

    def reasons(self, df):
        return pl.lit(None, dtype=pl.Utf8)


class DriverOnly(FilterOp):
    name = "test_driver_only"
    driver_only = "keeps a process-local handle"

    def reasons(self, df):
        return pl.when(pl.col("output").str.len_chars() > 1500).then(pl.lit("long_output: over 1500"))


class LongOutputs(GlobalOp):
    """Rejects outputs over 600 characters; `run_ray` is its distributed form (the hook)."""

    name = "test_long_outputs"

    def run(self, lf):
        return lf.with_columns(_long_reason(pl.col("output"))).collect()

    def run_ray(self, rows):
        return rows.dataset(["output"]).map_batches(_long_decisions, batch_format="pyarrow")


def _long_reason(col):
    n = col.str.len_chars()
    return pl.when(n > 600).then(pl.format("long_output: {} chars", n)).alias("_reject")


def _long_decisions(batch):
    df = pl.from_arrow(batch)
    return df.select("__row", _long_reason(pl.col("output"))).drop_nulls("_reject").to_arrow()


# -- helpers ------------------------------------------------------------------------

def run_both(tmp_path: Path, make, source=None):
    a = make().run(source, out=tmp_path / "local", engine="local")
    b = make().run(source, out=tmp_path / "ray", engine="ray")
    return a, b


def assert_same(a, b):
    ma, mb = a.manifest, b.manifest
    assert [(s["path"], s["rows"], s["sha256"]) for s in ma["shards"]] == \
        [(s["path"], s["rows"], s["sha256"]) for s in mb["shards"]]
    assert ma["stages"] == mb["stages"]
    assert ma["totals"] == mb["totals"] and ma["totals"]["balanced"]
    assert ma["metrics"] == mb["metrics"]
    assert ma["rejects"] == mb["rejects"]
    for r in ma["rejects"]:
        assert pl.read_parquet(a.out / r["path"]).equals(pl.read_parquet(b.out / r["path"]))


def planted(sample: Path, n: int = 300) -> pl.DataFrame:
    """Alpaca rows plus exact duplicates (case/punctuation changed) and near duplicates."""
    rows = [json.loads(line) for line in (sample / "alpaca.jsonl").read_text().splitlines()[:n]]
    df = pl.DataFrame(rows).select("instruction", "input", "output")
    exact = df.slice(10, 25).with_columns(pl.col("instruction").str.to_uppercase() + "!")
    near = df.filter(pl.col("output").str.count_matches(r"\S+") > 40).slice(0, 25).with_columns(
        pl.col("output").str.replace(r"\b(\w+)\b", "indeed"))
    tasks = pl.Series(["open_qa", "brainstorming", "rewriting"])
    out = pl.concat([df, exact, near])
    return out.with_columns(task=tasks.gather(pl.Series(range(out.height)) % 3))


# -- same results -------------------------------------------------------------------

def test_quickstart_same_results_through_the_cli(tmp_path, monkeypatch, quickstart_recipe, quickstart_run):
    from dataforge.cli import main

    monkeypatch.chdir(ROOT)
    qs = quickstart_recipe  # every step of the quickstart, fewer rows per source (tests/conftest.py)
    a = quickstart_run  # the local engine's run, shared with test_publish
    local = a.out
    # the embedding cache is content-keyed and shared through OUT on a cluster: reuse it
    if (local / "cache").exists():
        shutil.copytree(local / "cache", tmp_path / "ray" / "cache")
    assert main(["run", str(qs), "-o", str(tmp_path / "ray"), "--engine", "ray"]) == 0
    mb = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert [s["path"] for s in a.manifest["shards"]] == [s["path"] for s in mb["shards"]]
    for s in a.manifest["shards"]:  # rows first, for a readable diff; then the bytes
        assert_frame_equal(pl.read_parquet(local / "data" / s["path"]),
                           pl.read_parquet(tmp_path / "ray" / "data" / s["path"]))
    assert [s["sha256"] for s in a.manifest["shards"]] == [s["sha256"] for s in mb["shards"]]
    assert a.manifest["stages"] == mb["stages"] and mb["totals"]["balanced"]
    assert sum(s["rows"] for s in mb["shards"]) == a.manifest["totals"]["rows_out"] > 1000


def test_filters_actors_and_distributed_dedup_match_local(tmp_path, sample_dir, caplog):
    data = planted(sample_dir)

    def make():
        ops = [base.create("normalize"), base.create("length", {"field": "output", "min": 40}),
               Tagger(), base.create("dedup_exact"),
               base.create("dedup_near", {"threshold": 0.7, "ngram": 3}),
               DriverOnly(), base.create("length", {"field": "instruction", "unit": "words", "min": 4}),
               base.create("select_topk", {"k": 40, "score": ["score_tagged"]})]
        return Pipeline(ops, batch_size=60, output=OutputSpec(shards=ShardSpec(
            splits={"train": 0.9, "validation": 0.1}, max_rows_per_shard=100), report=False))

    with caplog.at_level(logging.INFO, logger="dataforge.engine.ray"):
        a, b = run_both(tmp_path, make, data)
    assert_same(a, b)
    by_op = {s["operator"]: s for s in b.manifest["stages"]}
    assert by_op["dedup_exact"]["rejected_by_reason"]["duplicate_exact"] >= 20
    assert by_op["dedup_near"]["rejected_by_reason"]["duplicate_near"] >= 10
    assert by_op["select_topk"]["rows_out"] == 3 * 40  # ties on a 0/1 score break by id
    assert "score_tagged" in b.manifest["schema"][-1]["name"]
    log = caplog.text
    for name in ("dedup_exact", "dedup_near", "select_topk"):
        assert f"'{name}' runs distributed" in log
    assert "runs on the driver, not on Ray (test_driver_only: keeps a process-local handle)" in log
    # parts of the distributed global stage are cut like the local engine's
    ga = sorted(p.name for p in (a.out / ".checkpoints").glob("*dedup_exact*/*"))
    gb = sorted(p.name for p in (b.out / ".checkpoints").glob("*dedup_exact*/*"))
    assert ga == gb and "part-00003.parquet" in ga


def test_run_ray_hook_and_driver_fallback(tmp_path, sample_dir, caplog):
    data = planted(sample_dir, 120)

    def make():
        return Pipeline([LongOutputs(), base.create("dataset_metrics", {"embeddings": False})], batch_size=50,
                        output=OutputSpec(report=False))

    with caplog.at_level(logging.INFO, logger="dataforge.engine.ray"):
        a, b = run_both(tmp_path, make, data)
    assert_same(a, b)
    assert "'dataset_metrics' runs on the driver over the checkpoint" in caplog.text
    assert "'test_long_outputs' runs distributed on Ray (LongOutputs.run_ray)" in caplog.text
    long_ = b.manifest["stages"][1]
    assert long_["operator"] == "test_long_outputs" and long_["rejected_by_reason"]["long_output"] > 0
    assert b.manifest["metrics"]["dataset_metrics"]["rows"] == data.height - long_["rows_rejected"]


# -- errors -------------------------------------------------------------------------

def test_worker_errors_surface_as_dataforge_errors(tmp_path, sample_dir):
    data = planted(sample_dir, 40)
    with pytest.raises(AccountingError, match="must not drop rows"):
        Pipeline([Dropper()], batch_size=20).run(data, out=tmp_path / "a", engine="ray")
    with pytest.raises(MissingResourceError, match="need 1 GPU"):
        Pipeline([NeedsGpu()], batch_size=20).run(data, out=tmp_path / "b", engine="ray")


# -- kernels ------------------------------------------------------------------------

def _rows(tmp_path: Path, df: pl.DataFrame, parts: int):
    from dataforge.engine.ray_globals import Rows

    paths = []
    for i, chunk in enumerate(df.iter_slices(-(-df.height // parts))):
        p = tmp_path / f"part-{i:05d}.parquet"
        chunk.write_parquet(p)
        paths.append(p)
    return Rows(paths)


def test_ranked_kernel_counts_ranks_across_streamed_batches(tmp_path):
    from dataforge.engine.ray_globals import ranked

    rng = np.random.default_rng(0)
    df = pl.DataFrame({"score_q": rng.integers(0, 20, 500).astype(float),
                       "task": rng.choice(["qa", "code", "math"], 500)})
    df = df.with_columns(pl.when(pl.int_range(pl.len()) % 37 == 0).then(None).otherwise(pl.col("score_q"))
                         .alias("score_q"))
    rows = _rows(tmp_path, df, 4)
    # reference: best first, ties by position, nulls last; rank within task
    ref = df.with_row_index("__row").with_columns(pl.col("__row").cast(pl.Int64)).sort(
        ["score_q", "__row"], descending=[True, False], nulls_last=True)
    ref = ref.with_columns((pl.int_range(pl.len()).over("task") + 1).alias("__rank"))
    s = pl.col("score_q")
    keys = {"__null": s.is_null().cast(pl.Int8), "__key": (-s).fill_null(0.0)}
    # counters must carry across the streamed batches (64 rows each)
    got = pl.concat(list(ranked(rows, ["score_q", "task"], keys, ["__null", "__key"], "task", batch_rows=64)))
    assert got["__row"].to_list() == ref["__row"].to_list()
    assert got["__rank"].to_list() == ref["__rank"].to_list()
    overall = pl.concat(list(ranked(rows, ["score_q"], keys, ["__null", "__key"], batch_rows=64)))
    assert overall["__rank"].to_list() == list(range(1, 501))


def test_resume_reruns_only_uncommitted_parts(tmp_path, sample_dir):
    data = planted(sample_dir, 150)

    def make():
        return Pipeline([base.create("normalize"), Tagger(), base.create("dedup_exact")], batch_size=50,
                        output=OutputSpec(report=False))

    first = make().run(data, out=tmp_path / "r", engine="ray")
    seg = next((tmp_path / "r" / ".checkpoints").glob("01-*"))
    kept_part = seg / "part-00000.parquet"
    before = kept_part.stat().st_mtime_ns
    (seg / "DONE.json").unlink()
    (seg / "stats-00002.json").unlink()  # as if killed while part 2 was being written
    again = make().run(data, out=tmp_path / "r", engine="ray")
    assert again.skipped_stages == ["read", "dedup_exact"]
    assert kept_part.stat().st_mtime_ns == before  # committed parts are not redone
    assert (seg / "stats-00002.json").exists()
    assert [s["sha256"] for s in again.manifest["shards"]] == [s["sha256"] for s in first.manifest["shards"]]


class UsesLlm(MapOp):
    name = "test_uses_llm"
    llm: str | None = None

    def map(self, df):
        return df


def test_llm_operators_get_a_gpu_per_actor_only_on_gpu_clusters():
    from dataforge.engine.ray import resources_of

    op = UsesLlm(llm="vllm:/models/tiny")
    assert resources_of(op, {"CPU": 8, "GPU": 2}) == {"num_gpus": 1}
    assert resources_of(op, {"CPU": 8}) == {}
    assert resources_of(UsesLlm(llm="hf:/models/tiny"), {"CPU": 8, "GPU": 2}) == {}
    assert resources_of(NeedsGpu(), {"CPU": 8}) == {"num_gpus": 1}


# -- the completion cache shared by LLM actors --------------------------------------------

def _fill_cache(cache_dir: str, worker: int, rounds: int) -> int:
    """One actor's traffic: its own prompts and prompts every worker asks, in small batches."""
    from dataforge.llm.base import Sampling
    from dataforge.llm.cache import CachedLLM
    from dataforge.testing.scripted import ScriptedLLM

    llm = CachedLLM(ScriptedLLM(lambda p, s: f"answer to {p}"), cache_dir)
    s = Sampling(max_tokens=4, seed=1)
    for r in range(rounds):
        batch = [f"w{worker} r{r} p{k}" for k in range(20)] + [f"shared r{r} p{k}" for k in range(5)]
        assert [x.completions[0].text for x in llm.generate(batch, s)] == [f"answer to {p}" for p in batch]
    llm.close()
    return llm.misses


def test_completion_cache_takes_writes_from_many_processes(tmp_path):
    """OUT/cache/llm is one SQLite file that every LLM actor opens: WAL lets readers run
    beside the writer, and the busy timeout makes concurrent writers wait, not fail."""
    import sqlite3

    from dataforge.llm.base import Sampling
    from dataforge.llm.cache import CachedLLM
    from dataforge.testing.scripted import ScriptedLLM

    fill = ray.remote(num_cpus=0.5)(_fill_cache)
    workers, rounds = 4, 30
    misses = ray.get([fill.remote(str(tmp_path), w, rounds) for w in range(workers)])
    assert sum(misses) >= workers * rounds * 20  # every private prompt was asked once
    db = sqlite3.connect(tmp_path / "completions.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM c").fetchone()[0] == workers * rounds * 20 + rounds * 5

    def refuse(p, s):
        raise AssertionError(f"not cached: {p}")

    again = CachedLLM(ScriptedLLM(refuse), tmp_path)  # everything answers from the cache
    res = again.generate([f"w3 r{rounds - 1} p7", "shared r0 p4"], Sampling(max_tokens=4, seed=1))
    assert [r.completions[0].text for r in res] == ["answer to w3 r29 p7", "answer to shared r0 p4"]
    assert again.misses == 0
