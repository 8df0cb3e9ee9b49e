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
        """Keep one row per cluster (null: a row in none), reject the others. Where rows of a
        cluster share one id (the same id in two files, one file read by two sources), the
        reason and `kept_id` name the kept row by its id, source and origin as well
        (`duplicate of x1 (a: part-1.jsonl:3)`), never an id that is also the rejected row's."""
        ids = unambiguous_ids(df, cluster)
        if ids is None:
            return mark_duplicates(df, cluster, reason=REASON, keep=self.keep, score=self.keep_score, detail=DETAIL)
        out = mark_duplicates(df.with_columns(ids), cluster, reason=REASON, keep=self.keep,
                              score=self.keep_score, detail=DETAIL)
        return out.with_columns(df["id"])

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})


def unambiguous_ids(df: pl.DataFrame, cluster: pl.Series) -> pl.Series | None:
    """`id` with the source and origin (`meta.origin`: file and line or row) appended on rows
    whose id another row of their cluster shares; None when no cluster has a shared id."""
    c = "__cluster"
    work = df.select("id", *[x for x in ("meta", "source") if x in df.columns]).with_columns(cluster.alias(c))
    shared = work.select(pl.col(c).is_not_null() & pl.col("id").is_duplicated().over(c)).to_series()
    if not shared.any():
        return None
    meta = pl.col("meta") if "meta" in work.columns else pl.lit(None, dtype=pl.Utf8)
    pos = pl.coalesce(meta.str.json_path_match("$.origin.line"), meta.str.json_path_match("$.origin.row"))
    where = pl.concat_str([meta.str.json_path_match("$.origin.file"), pos], separator=":", ignore_nulls=True)
    where = pl.when(where == "").then(None).otherwise(where)
    row = pl.format("row {}", pl.int_range(1, pl.len() + 1))
    src = pl.col("source") if "source" in work.columns else pl.lit(None, dtype=pl.Utf8)
    label = pl.format("{} ({})", pl.col("id"),
                      pl.concat_str([src, pl.coalesce(where, row)], separator=": ", ignore_nulls=True))
    return work.select(pl.when(pl.lit(shared)).then(label).otherwise(pl.col("id")).alias("id")).to_series()


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
