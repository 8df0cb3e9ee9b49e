"""Near-duplicate removal: MinHash signatures + LSH banding + union-find clusters.

Same scheme as datasketch (word n-gram shingles, `num_perm` permutations, b bands x r
rows chosen for a Jaccard `threshold` unless given), but signatures are computed for
all documents with numpy array arithmetic (see dataforge/clean/minhash.py), candidate
pairs come from a group-by on band keys, and clusters from a vectorised union-find.
Candidate pairs can be verified (estimated or exact Jaccard >= threshold) before they join.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import polars as pl

from dataforge.clean import minhash as M
from dataforge.clean.distinct import DISTINCT_BY_TASK, distinct_columns, split_by_task
from dataforge.clean.keep import KeepRule, cluster_metrics, mark_duplicates
from dataforge.clean.text import joined
from dataforge.clean.unionfind import components
from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register


def near_clusters(texts: pl.Series, *, ngram: int = 5, num_perm: int = 128, threshold: float = 0.8,
                  bands: int | None = None, rows: int | None = None, verify: str = "jaccard",
                  fn_weight: float | None = None, seed: int = 1,
                  chunk_docs: int = 50_000) -> tuple[np.ndarray, dict]:
    """Component label per text (-1 for texts in no duplicate cluster) and run statistics.

    Shingles are built per chunk of `chunk_docs` texts and dropped once hashed, so only
    the signatures (4 * num_perm bytes per text) stay in memory for the whole dataset.
    """
    n = len(texts)
    sig = np.empty((n, num_perm), dtype=np.uint32)
    has = np.zeros(n, dtype=bool)
    # a chunk's work (Polars' word extraction, numpy's hashing) releases the GIL: the chunk is
    # split over threads, each holding its part's shingles, so memory stays that of one chunk
    workers = max(1, min(os.cpu_count() or 1, 8))
    step = max(1, chunk_docs // workers)

    def one(lo: int) -> tuple[int, np.ndarray, np.ndarray]:
        return lo, *M.signatures(M.shingle_hashes(texts.slice(lo, step), ngram), num_perm, seed, threads=1)

    with ThreadPoolExecutor(workers) as pool:
        for lo, s, h in pool.map(one, range(0, n, step)):
            sig[lo:lo + len(s)], has[lo:lo + len(s)] = s, h
    if bands is None or rows is None:
        # Verified candidates can afford false positives: lean the band choice to recall.
        fn = fn_weight if fn_weight is not None else (0.5 if verify == "none" else 0.98)
        bands, rows = M.optimal_bands(threshold, num_perm, 1.0 - fn, fn)
    docs = np.flatnonzero(has)
    a, b = M.lsh_pairs(sig, docs, bands, rows)
    n_cand = int(a.size)
    if verify == "signature" and a.size:
        ok = M.signature_similarity(sig, a, b) >= threshold
        a, b = a[ok], b[ok]
    elif verify == "jaccard" and a.size:
        ok = exact_pairs(texts, a, b, ngram) >= threshold
        a, b = a[ok], b[ok]
    labels = components(n, a, b)
    sizes = np.bincount(labels, minlength=n)
    labels = np.where(sizes[labels] > 1, labels, -1)
    stats = {"bands": bands, "rows": rows, "candidate_pairs": n_cand, "verified_pairs": int(a.size),
             "signature_bytes": int(sig.nbytes)}
    return labels, stats


def exact_pairs(texts: pl.Series, a: np.ndarray, b: np.ndarray, ngram: int) -> np.ndarray:
    """Exact shingle Jaccard of candidate pairs, re-shingling only the texts involved."""
    involved = M.sorted_unique(np.r_[a, b])
    sh = M.shingle_hashes(texts.gather(involved), ngram)
    pos = np.searchsorted(involved, a), np.searchsorted(involved, b)
    return M.exact_jaccard(sh, *pos)


@register
class DedupNear(GlobalOp):
    """MinHash-LSH near-duplicate removal (datasketch scheme, vectorised), keep one per cluster."""

    name = "dedup_near"
    version = "2"  # 2: Chinese, Japanese and Thai-like scripts shingle by characters (words.py)
    fields: list[str] = param(default_factory=lambda: ["instruction", "input", "output"])
    ngram: int = 5
    num_perm: int = 128
    threshold: float = 0.8
    bands: int | None = None
    rows: int | None = None
    verify: Literal["none", "signature", "jaccard"] = "jaccard"
    fn_weight: float | None = None  # datasketch's false-negative weight; None: 0.98 if verify else 0.5
    keep: KeepRule = "first"
    keep_score: str | None = None
    seed: int = 1
    # task -> fields that must also match for rows of that task to be duplicates ({} turns it off)
    distinct_by_task: dict[str, list[str]] = param(default_factory=lambda: dict(DISTINCT_BY_TASK))
    distinct_max_words: int = 12  # ... when those fields are this short (answers, labels)

    def validate(self):
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"dedup_near: threshold must be in (0, 1], got {self.threshold}")
        if (self.bands is None) != (self.rows is None):
            raise ConfigError("dedup_near: give both `bands` and `rows`, or neither (then `threshold` picks them)")
        if self.bands and self.bands * self.rows > self.num_perm:
            raise ConfigError(f"dedup_near: bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.fn_weight is not None and not 0 <= self.fn_weight <= 1:
            raise ConfigError(f"dedup_near: fn_weight must be in [0, 1], got {self.fn_weight}")
        if self.ngram < 1 or self.num_perm < 1:
            raise ConfigError("dedup_near: ngram and num_perm must be >= 1")

    def columns_in(self):
        extra = distinct_columns(self.distinct_by_task)
        return list(self.fields) + [c for c in extra if c not in self.fields] + ([self.keep_score] if self.keep_score else [])

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        labels, stats = near_clusters(near_texts(df, self.fields), **self.cluster_params())
        cluster = pl.Series("c", labels).cast(pl.Utf8)
        cluster = pl.select(pl.when(pl.lit(labels) >= 0).then(pl.lit(cluster)).otherwise(None).alias("c"))["c"]
        cluster = split_by_task(df, cluster, self.distinct_by_task, self.distinct_max_words)
        self._metrics = cluster_metrics(cluster) | stats | {"threshold": self.threshold}
        return self.decide(df, cluster)

    def cluster_params(self) -> dict:
        return dict(ngram=self.ngram, num_perm=self.num_perm, threshold=self.threshold, bands=self.bands,
                    rows=self.rows, verify=self.verify, fn_weight=self.fn_weight, seed=self.seed)

    def decide(self, df: pl.DataFrame, cluster: pl.Series) -> pl.DataFrame:
        """Keep one row per cluster (null: a row in none), reject the others."""
        return mark_duplicates(df, cluster, reason="duplicate_near", keep=self.keep, score=self.keep_score,
                               # (a cluster joins pairs: the row kept may be a step or two away)
                               detail=f"same cluster: pairs at {'exact' if self.verify == 'jaccard' else 'MinHash'} "
                                      f"Jaccard >= {self.threshold}")

    def run_ray(self, rows) -> pl.DataFrame:
        """Distributed form: shingles, MinHash signatures and one key per LSH band are
        computed by the workers and grouped across the cluster. Only documents that share a
        band key with another one can be in a duplicate pair, so `near_clusters` (candidate
        pairs, verification, union-find) then runs on the driver over those documents alone
        and decides exactly what it decides locally."""
        from ray.data.aggregate import Count

        from dataforge.engine.ray_globals import ROW, gather, to_polars
        from dataforge.ops.dedup_exact import decide_members
        from ray.data.expressions import col

        params = self.cluster_params()
        _, probe = near_clusters(pl.Series(["banding probe"]), **params)  # the bands x rows it picks
        keys = rows.dataset(list(self.fields)).map_batches(
            _band_keys, fn_kwargs=dict(fields=list(self.fields), ngram=self.ngram, num_perm=self.num_perm,
                                       seed=self.seed, bands=probe["bands"], rows=probe["rows"]),
            batch_format="pyarrow").materialize()
        shared = to_polars(keys.map_batches(_explode_keys, batch_format="pyarrow")
                           .groupby(["band", "key"]).aggregate(Count(alias_name="size"))
                           .filter(expr=col("size") > 1))
        docs = np.zeros(0, dtype=np.int64)
        if shared.height:
            hit = keys.map_batches(_with_shared_key, fn_kwargs={"shared": shared.select("band", "key")},
                                   batch_format="pyarrow")
            docs = np.sort(to_polars(hit)[ROW].to_numpy())
        texts = near_texts(gather(rows, docs, list(self.fields)), self.fields) if docs.size \
            else pl.Series([], dtype=pl.Utf8)
        labels, stats = near_clusters(texts, **params) if docs.size else (np.zeros(0, np.int64), probe)
        stats = dict(stats) | {"signature_bytes": rows.n * self.num_perm * 4}  # as if all rows were signed
        if not docs.size:
            stats |= {"candidate_pairs": 0, "verified_pairs": 0}
        inc = labels >= 0
        cluster = pl.Series("c", docs[labels[inc]]).cast(pl.Utf8)  # label = smallest member, as a row
        members = pl.Series(docs[inc])
        split_cols = [c for c in dict.fromkeys(["task", *(f for fs in self.distinct_by_task.values() for f in fs)])
                      if c in rows.schema]
        if self.distinct_by_task and "task" in split_cols and members.len():
            # the same per-task split as `run`, on the cluster members' own fields
            sub = gather(rows, members.to_numpy(), split_cols)
            cluster = split_by_task(sub.drop(ROW), cluster, self.distinct_by_task, self.distinct_max_words)
        self._metrics = cluster_metrics(cluster) | stats | {"threshold": self.threshold}
        return decide_members(self, rows, members, cluster)

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})


def near_texts(df: pl.DataFrame, fields: list[str]) -> pl.Series:
    """The text a document's shingles come from: its fields joined by spaces."""
    return df.select(joined(list(fields)).str.replace_all("\x1f", " ").alias("t"))["t"]


# -- the per-document work of the distributed form (runs on Ray workers) ------------------

def _band_keys(batch, fields: list[str], ngram: int, num_perm: int, seed: int, bands: int, rows: int):
    """One int64 key per (document, band): equal band values give equal keys (a collision
    only adds a document to the candidates, whose pairs the operator then recomputes)."""
    import pyarrow as pa

    from dataforge.engine.ray_globals import ROW

    df = pl.from_arrow(batch)
    # one thread: a Ray task holds one CPU and Ray runs the tasks side by side (the default,
    # a thread per core, oversubscribed a worker's CPU); the signatures are the same
    sig, has = M.signatures(M.shingle_hashes(near_texts(df, fields), ngram), num_perm, seed, threads=1)
    s = sig[has][:, : bands * rows].astype(np.uint64).reshape(-1, bands, rows)
    mult = np.random.default_rng(rows).integers(1, 1 << 62, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        key = (s * mult).sum(axis=2, dtype=np.uint64)  # wraps mod 2^64
    return pa.table({ROW: df[ROW].to_numpy()[has],
                     "keys": pa.FixedSizeListArray.from_arrays(pa.array(key.reshape(-1).view(np.int64)), bands)})


def _explode_keys(batch):
    import pyarrow as pa

    k = batch.column("keys").combine_chunks()
    return pa.table({"band": np.tile(np.arange(k.type.list_size, dtype=np.int32), batch.num_rows),
                     "key": k.flatten().to_numpy(zero_copy_only=False)})


def _with_shared_key(batch, shared: pl.DataFrame):
    """Documents with at least one band key another document shares: __row."""
    from dataforge.engine.ray_globals import ROW

    if not batch.num_rows:
        return batch.select([ROW])
    flat = pl.from_arrow(_explode_keys(batch)).with_columns(
        pl.Series(ROW, np.repeat(batch.column(ROW).to_numpy(), batch.column("keys").type.list_size)))
    return flat.join(shared, on=["band", "key"], how="semi").select(pl.col(ROW).unique()).to_arrow()
