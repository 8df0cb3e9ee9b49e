"""Turn duplicate clusters into rejects: one row per cluster is kept by a keep rule,
the others are marked with the kept row's id and the cluster id."""
from __future__ import annotations

from typing import Literal

import polars as pl

from dataforge.errors import ConfigError
from dataforge.schema import REJECT, REJECT_DETAIL

KeepRule = Literal["first", "longest", "score"]
ROW = "__row"
CLUSTER = "__cluster"


def priority(df: pl.DataFrame, keep: str, score: str | None, field: str = "output") -> list[pl.Expr]:
    """Sort keys, best row first; ties fall back to input order."""
    if keep == "first":
        return [pl.col(ROW)]
    if keep == "longest":
        return [-pl.col(field).fill_null("").str.len_chars().cast(pl.Int64), pl.col(ROW)]
    if keep == "score":
        if not score or score not in df.columns:
            raise ConfigError(f"keep: score needs `keep_score` naming a score column present in the data "
                              f"(got {score!r}; columns: {df.columns})")
        return [-pl.col(score).cast(pl.Float64).fill_null(float("-inf")), pl.col(ROW)]
    raise ConfigError(f"keep must be 'first', 'longest' or 'score', got {keep!r}")


def mark_duplicates(df: pl.DataFrame, cluster: pl.Series, *, reason: str, keep: str = "first",
                    score: str | None = None, detail: str = "") -> pl.DataFrame:
    """Keep the best row of every cluster (null cluster = a singleton) and reject the rest.

    `_reject` = "REASON: duplicate of KEPT_ID[ (DETAIL)]", `_reject_detail` JSON
    {"kept_id", "cluster_id"}. Returns every input row, in input order.
    """
    cols = df.columns
    work = df.with_row_index(ROW).with_columns(cluster.alias(CLUSTER))
    ranked = work.filter(pl.col(CLUSTER).is_not_null()).sort(priority(work, keep, score))
    kept = ranked.group_by(CLUSTER, maintain_order=True).agg(pl.col("id").first().alias("__kept"),
                                                             pl.col(ROW).first().alias("__kept_row"))
    work = work.join(kept, on=CLUSTER, how="left").sort(ROW)
    dup = pl.col("__kept").is_not_null() & (pl.col(ROW) != pl.col("__kept_row"))
    suffix = f" ({detail})" if detail else ""
    msg = pl.format(f"{reason}: duplicate of {{}}{suffix}", pl.col("__kept"))
    det = pl.struct(pl.col("__kept").alias("kept_id"), pl.col(CLUSTER).cast(pl.Utf8).alias("cluster_id")).struct.json_encode()
    prev = pl.col(REJECT) if REJECT in cols else pl.lit(None, dtype=pl.Utf8)
    prev_d = pl.col(REJECT_DETAIL) if REJECT_DETAIL in cols else pl.lit(None, dtype=pl.Utf8)
    out = work.with_columns(
        pl.coalesce(prev, pl.when(dup).then(msg)).cast(pl.Utf8).alias(REJECT),
        pl.coalesce(prev_d, pl.when(dup).then(det)).cast(pl.Utf8).alias(REJECT_DETAIL),
    )
    return out.select([c for c in cols if c not in (REJECT, REJECT_DETAIL)] + [REJECT, REJECT_DETAIL])


def cluster_metrics(cluster: pl.Series) -> dict:
    """Cluster-size histogram of duplicate clusters (size >= 2) for the report."""
    sizes = cluster.drop_nulls().value_counts(name="n").filter(pl.col("n") > 1)["n"]
    hist = sizes.value_counts(name="clusters").sort("n")
    return {
        "duplicate_clusters": int(sizes.len()),
        "rows_in_clusters": int(sizes.sum() or 0),
        "rows_removed": int((sizes - 1).sum() or 0),
        "largest_cluster": int(sizes.max() or 0),
        "cluster_size_histogram": {str(k): int(v) for k, v in hist.iter_rows()},
    }
