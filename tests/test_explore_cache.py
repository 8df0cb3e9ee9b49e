"""`dataforge explore`'s cache (dataforge/explore/store.py): answers equal the reference (every file
read whole, then filtered) for filters, sorts with ties / nulls / NaN, text search and pages; the
cache is reused while the shards are unchanged and rebuilt when one changes."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dataforge.explore import Query, Run
from dataforge.explore.query import SEARCHES
from dataforge.explore.store import CACHE

SOURCES = ["alpaca", "dolly", "ünï"]
WORDS = ["Apple", "apple", "BANANA", "cherry", "Ørsted", "naïve", "a.b", "(x)", "tea"]


def _frame(rng, n: int, start: int) -> pl.DataFrame:
    words = np.array(WORDS)
    text = lambda k: [" ".join(rng.choice(words, k)) for _ in range(n)]  # noqa: E731
    q = rng.integers(0, 5, n).astype(float) / 4  # few values: many ties
    q[rng.random(n) < 0.1] = np.nan
    return pl.DataFrame({
        "id": [f"r{start + i:05d}" for i in range(n)],
        "instruction": text(3), "input": [None if i % 3 else "Context " + w for i, w in enumerate(text(1))],
        "output": text(6), "source": rng.choice(SOURCES, n).tolist(), "task": rng.choice(["qa", "code"], n).tolist(),
        "parent_id": [None] * n, "meta": ['{"k": 1}'] * n,
        "score_q": pl.Series(q).set(pl.Series(rng.random(n) < 0.1), None),  # nulls and NaN
        "score_len": rng.random(n).round(2),
    }, schema_overrides={"parent_id": pl.Utf8})


def make_run(out: Path, seed: int = 0) -> Path:
    """Two train shards, an empty validation shard, and a reject file whose first row repeats a kept id."""
    rng = np.random.default_rng(seed)
    (out / "data").mkdir(parents=True)
    (out / "rejects").mkdir()
    a, b = _frame(rng, 120, 0), _frame(rng, 80, 120)
    a.write_parquet(out / "data" / "train-00000-of-00002.parquet")
    b.write_parquet(out / "data" / "train-00001-of-00002.parquet")
    a.head(0).write_parquet(out / "data" / "validation-00000-of-00001.parquet")
    rej = _frame(rng, 40, 200).with_columns(
        pl.lit("duplicate_exact: copy").alias("reason"), pl.lit("dedup").alias("stage"),
        pl.format('{{"kept_id":"{}"}}', pl.lit("r00003")).alias("detail"))
    rej = rej.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("r00003")).otherwise("id").alias("id"))
    rej.write_parquet(out / "rejects" / "01-dedup.parquet")
    shards = [{"path": f"train-0000{i}-of-00002.parquet", "split": "train"} for i in range(2)]
    shards.append({"path": "validation-00000-of-00001.parquet", "split": "validation"})
    (out / "manifest.json").write_text(json.dumps({
        "name": "tiny", "shards": shards, "rejects": [{"path": "rejects/01-dedup.parquet"}],
        "totals": {"rows_out": 200, "rows_rejected": 40}}))
    return out


def reference(out: Path, q: Query) -> pl.DataFrame:
    kept = [pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"), pl.lit("kept").alias("status"))
            for p in sorted((out / "data").glob("*.parquet"))]
    rej = pl.read_parquet(out / "rejects" / "*.parquet").with_columns(pl.lit("rejected").alias("status"))
    df = pl.concat(kept + [rej], how="diagonal_relaxed")
    if q.status:
        df = df.filter(pl.col("status") == q.status)
    for col, vals in (("source", q.source), ("task", q.task), ("split", q.split)):
        if vals:
            df = df.filter(pl.col(col).is_in(vals))
    for c, (lo, hi) in q.scores.items():
        df = df.filter(pl.col(c).is_between(lo if lo is not None else -np.inf, hi if hi is not None else np.inf))
    if q.q:
        pat = "(?i)" + re.escape(q.q)
        df = df.filter(pl.any_horizontal([pl.col(f).str.contains(pat) for f in ("instruction", "input", "output")]))
    if q.sort:
        df = df.sort([q.sort, "id"], descending=[q.desc, False], nulls_last=True)
    return df


@pytest.fixture
def tiny(tmp_path) -> Path:
    return make_run(tmp_path / "out")


QUERIES = [
    Query(),
    Query(sort="score_q"), Query(sort="score_q", desc=False), Query(sort="score_len", offset=30, limit=7),
    Query(sort="score_q", desc=False, offset=150, limit=40),  # the page crosses into nulls
    Query(source=["ünï"], sort="score_q", limit=5), Query(source=["dolly", "alpaca"], task=["qa"]),
    Query(scores={"score_len": (0.2, 0.6)}, sort="score_len", desc=False, limit=11),
    Query(scores={"score_q": (0.5, None)}, sort="score_q"),
    Query(q="apple"), Query(q="APPLE", sort="score_q", limit=3, offset=3), Query(q="ørsted"),
    Query(q="a.b"), Query(q="(x)"), Query(q="context"), Query(q="nothing-like-this"),
    Query(q="naïve", source=["alpaca"], sort="score_len", desc=False),
    Query(status="rejected", q="tea", sort="score_q"), Query(status="kept", split=["validation"]),
]


@pytest.mark.parametrize("ties", [50_000, 0])  # 0: the page's edge value ties with many rows: top-k path
@pytest.mark.parametrize("i", range(len(QUERIES)))
def test_pages_equal_the_reference(tiny, i, ties, monkeypatch):
    monkeypatch.setattr("dataforge.explore.query.TIES", ties)
    run, q = Run(tiny), QUERIES[i]
    want = reference(tiny, q)
    res = run.page(q)
    assert res["total"] == want.height
    page = want.slice(q.offset, q.limit)
    assert [(r["id"], r["status"]) for r in res["rows"]] == list(zip(page["id"], page["status"]))
    assert [r["output"] for r in res["rows"]] == page["output"].to_list()
    # the export is the whole selection in the same order, every column
    lines = [json.loads(x) for chunk in run.export(q) for x in chunk.decode().splitlines()]
    assert [x["id"] for x in lines] == want["id"].to_list()
    assert [x["input"] for x in lines] == want["input"].to_list()


def test_an_id_in_both_the_output_and_the_rejects_opens_each_row(tiny):
    run = Run(tiny)
    kept, rej = run.row("r00003", "kept"), run.row("r00003", "rejected")
    assert kept["row"]["status"] == "kept" and rej["row"]["status"] == "rejected"
    assert rej["row"]["reason"].startswith("duplicate_exact") and kept["row"]["output"] != rej["row"]["output"]
    assert rej["cluster"]["kept"]["status"] == "kept" and rej["cluster"]["kept"]["id"] == "r00003"
    assert len(kept["cluster"]["members"]) == 40


def _arrows(out: Path) -> list[str]:
    return sorted(p.name for p in (out / CACHE).glob("*.arrow"))


def test_cache_is_reused_then_rebuilt_when_a_shard_changes(tiny):
    first = Run(tiny)
    assert first.store.built and first.store.folder == tiny / CACHE and len(_arrows(tiny)) == 2
    files = _arrows(tiny)
    again = Run(tiny)
    assert not again.store.built and _arrows(tiny) == files
    assert again.info()["cache"] == {"folder": str(tiny / CACHE), "built": False, "seconds": round(again.store.seconds, 3)}
    assert again.page(Query(q="banana"))["total"] == first.page(Query(q="banana"))["total"]
    # a shard rewritten (a resumed or re-run pipeline): new answers, the old cache removed
    shard = tiny / "data" / "train-00001-of-00002.parquet"
    df = pl.read_parquet(shard).with_columns(pl.lit("a brand new kiwi answer").alias("output"))
    df.write_parquet(shard)
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 1_000_000))
    fresh = Run(tiny)
    assert fresh.store.built and _arrows(tiny) != files and len(_arrows(tiny)) == 2
    assert fresh.page(Query(q="KIWI"))["total"] == df.height == reference(tiny, Query(q="kiwi")).height
    # the run opened before the change still answers from its own (memory-mapped) files
    assert first.page(Query(q="kiwi"))["total"] == 0 and first.page(Query())["rows"][0]["id"] == "r00000"


def test_unwritable_run_folder_caches_in_the_temporary_folder(tiny):
    (tiny / CACHE).write_text("not a folder")  # mkdir fails, as on a read-only run folder
    run = Run(tiny)
    assert run.store.folder != tiny / CACHE and run.store.folder.is_dir()
    assert run.page(Query(q="apple"))["total"] == reference(tiny, Query(q="apple")).height
    assert not Run(tiny).store.built  # reused from there too


def test_paging_a_search_reuses_it_and_old_searches_are_forgotten(tiny):
    run = Run(tiny)
    run.page(Query(q="apple", source=["dolly"]))
    assert len(run.searches) == 1
    for q in (Query(q="apple", source=["dolly"], sort="score_q", offset=4, limit=3),
              Query(q="apple", source=["dolly"], sort="score_len", desc=False)):
        want = reference(tiny, q)
        res = run.page(q)
        assert len(run.searches) == 1 and res["total"] == want.height
        assert [r["id"] for r in res["rows"]] == want["id"].to_list()[q.offset:q.offset + q.limit]
    run.page(Query(q="apple", source=["alpaca"]))  # other filters: another search
    assert len(run.searches) == 2
    for w in WORDS:
        run.page(Query(q=w))
    assert len(run.searches) == SEARCHES


def test_a_killed_build_is_redone_and_its_leftovers_removed(tiny):
    Run(tiny)
    for f in (tiny / CACHE).glob("index-*.arrow"):
        f.unlink()  # killed after the rows file, before the index: not a cache
    left = tiny / CACHE / ".rows-x.arrow.123.tmp"
    left.write_bytes(b"half")
    os.utime(left, (0, 0))
    run = Run(tiny)
    assert run.store.built and len(_arrows(tiny)) == 2 and not left.exists()
    assert run.page(Query(q="cherry"))["total"] == reference(tiny, Query(q="cherry")).height
