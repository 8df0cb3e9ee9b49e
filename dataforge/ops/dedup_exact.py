"""Exact deduplication on normalised text (NFKC, case-folded, punctuation and
whitespace collapsed) over chosen fields: "Hello, World!" and "hello world" collide."""
from __future__ import annotations

import polars as pl

from dataforge.clean.keep import KeepRule, cluster_metrics, mark_duplicates
from dataforge.clean.text import joined
from dataforge.ops.base import GlobalOp, param, register


@register
class DedupExact(GlobalOp):
    """Drop rows whose normalised fields equal an earlier row's; rejects name the kept id."""

    name = "dedup_exact"
    fields: list[str] = param(default_factory=lambda: ["instruction", "input", "output"])
    normalise: bool = True
    keep: KeepRule = "first"
    keep_score: str | None = None

    def columns_in(self):
        return list(self.fields) + ([self.keep_score] if self.keep_score else [])

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        key = df.select(joined(self.fields, normalise=self.normalise).alias("k"))["k"]
        # 64-bit hash as the group key: collisions are ~1e-8 at a million rows;
        # the cluster id is that hash (decimal).
        h = key.hash(seed=0)
        repeated = h.is_duplicated()
        cluster = pl.select(pl.when(pl.lit(repeated)).then(pl.lit(h).cast(pl.Utf8))
                            .otherwise(None).alias("c"))["c"]
        self._metrics = cluster_metrics(cluster)
        return mark_duplicates(df, cluster, reason="duplicate_exact", keep=self.keep,
                               score=self.keep_score, detail="same normalised text")

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})
