"""Exact deduplication on normalised text (NFKC, case-folded, punctuation and
whitespace collapsed) over chosen fields: "Hello, World!" and "hello world" collide."""
from __future__ import annotations

import polars as pl

from dataforge.clean.keep import KeepRule, cluster_metrics, mark_duplicates
from dataforge.clean.text import joined
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT, REJECT_DETAIL

REASON, DETAIL = "duplicate_exact", "same normalised text"


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

    def key(self) -> pl.Expr:
        """What must be equal: the joined (normalised) fields."""
        return joined(self.fields, normalise=self.normalise)

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        key = df.select(self.key().alias("k"))["k"]
        # 64-bit hash as the group key: collisions are ~1e-8 at a million rows;
        # the cluster id is that hash (decimal).
        h = key.hash(seed=0)
        repeated = h.is_duplicated()
        cluster = pl.select(pl.when(pl.lit(repeated)).then(pl.lit(h).cast(pl.Utf8))
                            .otherwise(None).alias("c"))["c"]
        self._metrics = cluster_metrics(cluster)
        return self.decide(df, cluster)

    def run_ray(self, rows) -> pl.DataFrame:
        """Distributed form: the workers hash the key and group on the hash; only the rows
        of repeated hashes come back, and `decide` runs on those alone."""
        from dataforge.engine.ray_globals import ROW, hash_members

        members = hash_members(rows, self.key(), list(self.fields))
        cluster = members["__h"].reinterpret(signed=False).cast(pl.Utf8)  # the local cluster id
        self._metrics = cluster_metrics(cluster)
        return decide_members(self, rows, members[ROW], cluster)

    def decide(self, df: pl.DataFrame, cluster: pl.Series) -> pl.DataFrame:
        """Keep one row per cluster (null: a row in none), reject the others. A rejected copy
        whose id is the kept row's (an exact copy's content id; one id given in two files)
        names the kept row by its source and origin too: `duplicate of x1 (...) (kept: a:
        part-1.jsonl:3)`; `kept_id` stays the id (the report looks the kept row up by it)."""
        out = mark_duplicates(df, cluster, reason=REASON, keep=self.keep, score=self.keep_score, detail=DETAIL)
        return name_kept_rows(df, cluster, out)

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})


def name_kept_rows(df: pl.DataFrame, cluster: pl.Series, out: pl.DataFrame) -> pl.DataFrame:
    """`out` (mark_duplicates' result) with each rejected copy that shares the kept row's id
    saying where the kept row came from: its source and `meta.origin` (file and line or row).
    Origins are read only in the clusters where that happens."""
    c = "__cluster"
    w = df.select("id").with_columns(cluster.alias(c), out[REJECT].alias(REJECT), pl.int_range(pl.len()).alias("__i"))
    kept = w.filter(pl.col(c).is_not_null() & pl.col(REJECT).is_null()).select(c, pl.col("id").alias("__kid"),
                                                                                 pl.col("__i").alias("__ki"))
    w = w.join(kept.unique(c, keep="first"), on=c, how="left", maintain_order="left")
    same = w.filter(pl.col(REJECT).str.starts_with(f"{REASON}:") & (pl.col("id") == pl.col("__kid")))
    if not same.height:
        return out
    meta = pl.col("meta") if "meta" in df.columns else pl.lit(None, dtype=pl.Utf8)
    pos = pl.coalesce(meta.str.json_path_match("$.origin.line"), meta.str.json_path_match("$.origin.row"))
    where = pl.concat_str([meta.str.json_path_match("$.origin.file"), pos], separator=":", ignore_nulls=True)
    src = pl.col("source") if "source" in df.columns else pl.lit(None, dtype=pl.Utf8)
    label = pl.concat_str([src, pl.when(where == "").then(None).otherwise(where)], separator=": ", ignore_nulls=True)
    ki = same["__ki"].unique()
    # (with_columns: a frame without meta and source makes `label` a literal, one row in a select)
    labels = df[ki].with_columns(label.alias("__kw")).select("__kw").with_columns(ki.alias("__ki"))
    named = same.join(labels, on="__ki", how="left").filter(pl.col("__kw").is_not_null() & (pl.col("__kw") != ""))
    new = pl.Series(REJECT, out[REJECT]).scatter(
        named["__i"], named.select(pl.format("{} (kept: {})", pl.col(REJECT), pl.col("__kw"))).to_series())
    return out.with_columns(new)


def decide_members(op, rows, members: pl.Series, cluster: pl.Series) -> pl.DataFrame:
    """A dedup operator's `decide`, run on the members of duplicate clusters only (`members`:
    their row positions, in row order, so the kept row is the one a local run keeps).
    Returns the Ray engine's decisions: __row, _reject, _reject_detail."""
    from dataforge.engine.ray_globals import ROW, gather

    cols = ["id", "output", "meta", "source"] + ([op.keep_score] if op.keep_score else [])
    cols = [c for c in dict.fromkeys(cols) if c in rows.schema]
    sub = gather(rows, members.to_numpy(), cols)
    out = op.decide(sub.drop(ROW), cluster)
    return out.select(sub[ROW], REJECT, REJECT_DETAIL).filter(pl.col(REJECT).is_not_null())
