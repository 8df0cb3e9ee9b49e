"""`dataforge explore` latency: each query of a browsing session on a 1M-row run, answered from the
run's explore cache (dataforge.explore.store: the filter/sort columns in memory, every row in a
memory-mapped Arrow file), beside the reference way: read every shard and reject file into memory,
then filter the DataFrame (in one process, same files; the benchmark asserts the same answers).

    .venv/bin/python benchmarks/explore.py                 # 1,000,000 rows (the reference run)
    .venv/bin/python benchmarks/explore.py --rows 200000   # a quicker look
    .venv/bin/python benchmarks/explore.py --out /tmp/run1m --keep   # keep the generated run

The run is synthetic but has the layout of `dataforge run` output: Hub-named shards in data/
(train/validation), rejects/ with reasons and dedup details (kept_id), manifest.json. 10% of
rows are rejected; 5% of kept rows are derived (parent_id). Texts are drawn from a pool of
sentences of random words, so a search word matches a realistic fraction of rows.

Printed first, the startup: the cache built from scratch (wall, CPU, peak memory, size on disk)
and reopened. Then per query: our latency (median of 3, warm; each text search paid in full,
except the query named "remembered"), the reference's latency on the loaded frame, and the
reference's one-off load time and the memory both hold. The goal is < 300 ms per query on the
project's 2 cores; the load average is printed, since other jobs share them.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataforge.explore.query import Query, Run  # noqa: E402

SOURCES = ["alpaca", "dolly", "self_instruct", "evol", "sst2", "squad"]
TASKS = ["open_qa", "brainstorming", "creative_writing", "classification", "summarization", "extractive_qa",
         "rewriting", "code", "math", "sentiment"]


def _texts(rng, n: int, pool: np.ndarray) -> pl.Series:
    return pl.Series(pool[rng.integers(0, pool.size, n)])


def _pool(rng, size: int, lo: int, hi: int) -> np.ndarray:
    """`size` sentences of lo..hi Zipf-distributed words (drawn at once: fast)."""
    vocab = np.array([f"w{i}" for i in range(20_000)])
    p = 1.0 / np.arange(1, vocab.size + 1) ** 0.9
    lengths = rng.integers(lo, hi, size)
    words = vocab[rng.choice(vocab.size, int(lengths.sum()), p=p / p.sum())]
    return np.array([" ".join(w) for w in np.split(words, np.cumsum(lengths)[:-1])])


def build_run(out: Path, rows: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    inst_pool, out_pool = _pool(rng, 20_000, 5, 25), _pool(rng, 20_000, 20, 120)
    n_rej = rows // 10
    n = rows + n_rej
    ids = pl.Series([f"{x:020x}" for x in rng.integers(0, 2**63, n, dtype=np.int64)])
    df = pl.DataFrame({
        "id": ids,
        # a number per row keeps instructions distinct
        "instruction": _texts(rng, n, inst_pool) + " q" + pl.Series(rng.integers(0, 10**6, n)).cast(pl.Utf8),
        "input": pl.Series(np.where(rng.random(n) < 0.3, "some context here", "")),
        "output": _texts(rng, n, out_pool),
        "system": pl.Series([None] * n, dtype=pl.Utf8),
        "task": pl.Series(np.array(TASKS)[rng.integers(0, len(TASKS), n)]),
        "source": pl.Series(np.array(SOURCES)[rng.integers(0, len(SOURCES), n)]),
        "lang": pl.Series(["en"] * n),
        "parent_id": pl.Series([None] * n, dtype=pl.Utf8),
        "meta": pl.Series(['{"template": "t1"}'] * n),
        "score_quality": pl.Series(rng.random(n).round(4)),
        "score_complexity": pl.Series((rng.random(n) * 5).round(3)),
    })
    kept, rej = df.head(rows), df.tail(n_rej)
    # 5% derived rows: parent = an earlier kept row
    derived = rng.random(rows) < 0.05
    parents = ids.head(rows).gather(rng.integers(0, rows, rows))
    kept = kept.with_columns(pl.when(pl.Series(derived)).then(parents).otherwise(None).alias("parent_id"))
    (out / "data").mkdir(parents=True)
    (out / "rejects").mkdir()
    split = np.where(rng.random(rows) < 0.95, "train", "validation")
    shards = []
    for s in ("train", "validation"):
        part = kept.filter(pl.Series(split == s))
        chunks = max(1, part.height // 250_000)
        for i, c in enumerate(np.array_split(np.arange(part.height), chunks)):
            name = f"{s}-{i:05d}-of-{chunks:05d}.parquet"
            part[c].write_parquet(out / "data" / name, compression="zstd", row_group_size=50_000)
            shards.append({"path": name, "split": s, "rows": len(c)})
    # rejects: half a length filter, half near-duplicates of kept rows (detail names the kept row)
    half = n_rej // 2
    kept_of = ids.head(rows).gather(rng.integers(0, rows, n_rej - half))
    r1 = rej.head(half).with_columns(pl.lit("too_short: instruction has 3 words < 4").alias("reason"),
                                     pl.lit("clean").alias("stage"), pl.lit("length").alias("operator"),
                                     pl.lit(None, dtype=pl.Utf8).alias("detail"), pl.lit("{}").alias("raw"))
    r2 = rej.tail(n_rej - half).with_columns(
        pl.format("duplicate_near: duplicate of {}", kept_of).alias("reason"), pl.lit("dedup").alias("stage"),
        pl.lit("dedup_near").alias("operator"),
        pl.format('{{"kept_id":"{}","cluster_id":"{}"}}', kept_of, kept_of).alias("detail"), pl.lit("{}").alias("raw"))
    r1.write_parquet(out / "rejects" / "01-clean.parquet", compression="zstd", row_group_size=50_000)
    r2.write_parquet(out / "rejects" / "02-dedup.parquet", compression="zstd", row_group_size=50_000)
    manifest = {"name": f"bench-{rows}", "shards": shards,
                "rejects": [{"path": "rejects/01-clean.parquet", "rows": r1.height, "stage": "clean"},
                            {"path": "rejects/02-dedup.parquet", "rows": r2.height, "stage": "dedup"}],
                "totals": {"rows_in": n, "rows_out": rows, "rows_rejected": n_rej, "rows_added": 0},
                "stages": [], "splits": {s: int((split == s).sum()) for s in ("train", "validation")}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def session(run: Run, probe: dict) -> list[tuple[str, object]]:
    """The queries of a browsing session, in order."""
    word = probe["word"]
    return [
        ("facets (sources, tasks, splits, rules, score ranges)", lambda: run.info()),
        ("page 1, no filter", Query()),
        ("filter source + task", Query(source=["dolly"], task=["open_qa"])),
        ("+ score range", Query(source=["dolly"], task=["open_qa"], scores={"score_quality": (0.5, 0.9)})),
        ("+ sort by score (desc)", Query(source=["dolly"], task=["open_qa"], scores={"score_quality": (0.5, 0.9)},
                                         sort="score_complexity")),
        ("+ text search", Query(source=["dolly"], task=["open_qa"], scores={"score_quality": (0.5, 0.9)},
                                sort="score_complexity", q=word)),
        ("page 10 of that", Query(source=["dolly"], task=["open_qa"], scores={"score_quality": (0.5, 0.9)},
                                  sort="score_complexity", q=word, offset=450)),
        ("sort everything by a score", Query(sort="score_quality")),
        ("text search everywhere", Query(q=word)),
        ("page 2 of it, sorted (search remembered)", Query(q=word, offset=50, sort="score_quality")),
        ("text search, a word in most rows", Query(q=probe["common"])),
        ("rejected rows of one rule", Query(status="rejected", rule=["duplicate_near"])),
        ("open a derived row (parent, children)", lambda: run.row(probe["child"], "kept")),
        ("open a dropped duplicate (kept row, cluster)", lambda: run.row(probe["dup"], "rejected")),
    ]


def reference(full: pl.DataFrame, name: str, q, probe: dict):
    """The same question on the frame loaded whole."""
    def filt(q: Query) -> pl.DataFrame:
        df = full if not q.status else full.filter(pl.col("status") == q.status)
        if q.source:
            df = df.filter(pl.col("source").is_in(q.source))
        if q.task:
            df = df.filter(pl.col("task").is_in(q.task))
        if q.rule:
            df = df.filter(pl.col("reason").str.split(":").list.first().is_in(q.rule))
        for c, (lo, hi) in q.scores.items():
            df = df.filter(pl.col(c).is_between(lo, hi))
        if q.q:
            df = df.filter(pl.any_horizontal([pl.col(f).str.contains("(?i)" + q.q) for f in ("instruction", "input", "output")]))
        if q.sort:
            df = df.sort([q.sort, "id"], descending=[q.desc, False], nulls_last=True)
        return df
    if isinstance(q, Query):
        df = filt(q)
        return {"total": df.height, "ids": df["id"][q.offset:q.offset + q.limit].to_list()}
    if name.startswith("open"):
        rid = probe["child"] if "derived" in name else probe["dup"]
        row = full.filter(pl.col("id") == rid)
        pid = row["parent_id"][0]
        return full.filter((pl.col("id") == pl.lit(pid, dtype=pl.Utf8)) | (pl.col("parent_id") == rid)
                           | pl.col("detail").str.contains(rid, literal=True)).height
    return {c: full[c].value_counts().height for c in ("source", "task", "split")}


def timed(fn, repeat: int = 3) -> tuple[float, object, float]:
    """Median wall seconds, the answer, median CPU seconds of this process (all threads): on a
    shared machine the CPU time says what the query costs, the wall time what it waited."""
    out, times, cpu = None, [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), out, statistics.median(cpu)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="df-explore-bench-")) / "run"
    if not (out / "manifest.json").exists():
        t = time.perf_counter()
        build_run(out, args.rows)
        print(f"built {args.rows:,} kept rows + {args.rows // 10:,} rejects in {time.perf_counter() - t:.1f}s: {out}")
    try:
        base = peak_mb()
        shutil.rmtree(out / ".explore", ignore_errors=True)  # time the cache's build, then a reopen
        t, c = time.perf_counter(), time.process_time()
        run = Run(out)
        build, build_cpu = time.perf_counter() - t, time.process_time() - c
        built_peak = peak_mb()
        t = time.perf_counter()
        run = Run(out)
        reopen = time.perf_counter() - t
        assert run.store.built is False
        disk = sum(f.stat().st_size for f in run.store.folder.glob("*.arrow")) / 1e6
        shards = sum(p.stat().st_size for p, _, _ in run.files) / 1e6
        print(f"startup: cache built in {build:.1f}s ({build_cpu:.1f}s CPU), peak RSS {built_peak - base:+.0f} MB while "
              f"building; {disk:.0f} MB on disk (the shards: {shards:.0f} MB); reopened in {reopen * 1000:.0f} ms; "
              f"index in memory {run.index.estimated_size() / 1e6:.0f} MB")
        rej = pl.read_parquet(out / "rejects" / "02-dedup.parquet", columns=["id"], n_rows=1)
        child = pl.scan_parquet(out / "data" / "*.parquet").filter(pl.col("parent_id").is_not_null()).select("id").head(1).collect()
        probe = {"word": "w777", "common": "w1", "child": child["id"][0], "dup": rej["id"][0]}
        ours = []
        for name, q in session(run, probe):
            # every query pays its own text search (the remembered ones cleared) except the one named so
            fn = q if callable(q) else (lambda q=q: run.page(q)) if "remembered" in name else \
                (lambda q=q: (run.searches.clear(), run.page(q))[1])
            sec, res, cpu = timed(fn)
            ours.append((name, q, sec, res, cpu))
        ours_peak = peak_mb()
        mem = {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in open("/proc/self/status"))
               if k in ("RssAnon", "RssFile")}

        t = time.perf_counter()
        kept = pl.concat([pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"))
                          for p in sorted((out / "data").glob("*.parquet"))], how="diagonal_relaxed")
        full = pl.concat([kept.with_columns(pl.lit("kept").alias("status")),
                          pl.read_parquet(out / "rejects" / "*.parquet").with_columns(pl.lit("rejected").alias("status"))],
                         how="diagonal_relaxed")
        load = time.perf_counter() - t
        ref_peak = peak_mb()
        print(f"\nrows: {run.manifest['totals']['rows_out']:,} kept + {run.manifest['totals']['rows_rejected']:,} rejected; "
              f"reference full load: {load:.2f}s; peak RSS ours {ours_peak:.0f} MB after the session "
              f"(heap {mem['RssAnon']:.0f} MB, pages of the memory-mapped cache {mem['RssFile']:.0f} MB), "
              f"after the reference's full load {ref_peak:.0f} MB")
        print(f"{'query':50s} {'ours ms':>9s} {'cpu ms':>8s} {'ref ms':>9s} {'cpu ms':>8s} {'rows':>9s}  goal<300ms")
        for name, q, sec, res, cpu in ours:
            rsec, rres, rcpu = timed(lambda: reference(full, name, q, probe))
            total = res.get("total", "") if isinstance(res, dict) else ""
            if isinstance(q, Query):  # same answers
                assert res["total"] == rres["total"] and [r["id"] for r in res["rows"]] == rres["ids"], name
            print(f"{name:50s} {sec * 1000:9.1f} {cpu * 1000:8.1f} {rsec * 1000:9.1f} {rcpu * 1000:8.1f} "
                  f"{total!s:>9s}  {'ok' if sec < 0.3 else 'SLOW'}")
        with open("/proc/loadavg") as f:
            print(f"load average while measuring: {f.read().split()[0]} on {os.cpu_count()} cores")
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
