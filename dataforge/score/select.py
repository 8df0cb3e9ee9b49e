"""Shared pieces of the selection operators: the ranking score, kept shares and column checks.

The ranking score is one expression for every form of a selection (local and Ray): the
product of the score columns (DEITA's complexity x quality), then normalised within its
group (by default the task), so that a task whose scores run high does not take the
selection — converted NLP rows and open instructions are scored on different scales.
`percentile`: the row's rank within its group divided by the group's size, in (0, 1]
(ties broken by id as the selections do, so every group's values spread evenly and a global cut keeps the same
share of every group); `zscore`: the standard score within the group mapped through the
logistic function into (0, 1); `none`: the raw product. Null scores count 0.
"""
from __future__ import annotations

from typing import Literal

import polars as pl

from dataforge.errors import ConfigError

Normalize = Literal["percentile", "zscore", "none"]
NORMALIZE = ("percentile", "zscore", "none")


def normalised(e: pl.Expr, method: str, within: str | None) -> pl.Expr:
    """A score expression normalised within the groups of `within` (see the module doc)."""
    if method == "none":
        return e
    if method == "percentile":
        # rank 1 = best (ties: smaller id first, as the selections break ties), flipped into (0, 1]
        best = pl.struct((-e).alias("s"), pl.col("id").cast(pl.Utf8).alias("i")).rank("ordinal")
        out = (pl.len() - best + 1) / pl.len()
    elif method == "zscore":
        std = e.std(ddof=0)
        z = pl.when(std > 0).then((e - e.mean()) / std).otherwise(0.0)
        out = 1.0 / (1.0 + (-z).exp())
    else:
        raise ConfigError(f"normalize must be one of {NORMALIZE}, got {method!r}")
    return out.over(pl.col(within).cast(pl.Utf8).fill_null("(none)")) if within else out


def rank_score(columns: list[str], where: str, normalize: str = "none", within: str | None = None) -> pl.Expr:
    """The ranking score of a selection: product of the score columns (nulls count 0),
    normalised within `within` groups by `normalize`."""
    if not columns:
        raise ConfigError(f"{where}: name at least one score column in `score`")
    if normalize not in NORMALIZE:
        raise ConfigError(f"{where}: normalize must be one of {list(NORMALIZE)}, got {normalize!r}")
    e = pl.lit(1.0)
    for c in columns:
        e = e * pl.col(c).cast(pl.Float64).fill_nan(None).fill_null(0.0)
    return normalised(e, normalize, within)


def score_expr(columns: list[str], where: str) -> pl.Expr:
    """Product of the named raw score columns (mix, preference pairs); nulls count 0."""
    return rank_score(columns, where, "none", None)


def needs_groups(normalize: str, within: str | None) -> bool:
    """Whether the ranking score needs whole groups (a window), not one batch at a time."""
    return normalize != "none"


def kept_shares(df: pl.DataFrame, kept: pl.Series | pl.Expr, by: tuple[str, ...] = ("source", "task")) -> dict:
    """For the report: per source and per task, rows in, rows kept and the share kept;
    `share_of_output` is the group's share of everything kept."""
    k = pl.lit(kept) if isinstance(kept, pl.Series) else kept
    d = df.select([pl.col(b).cast(pl.Utf8).fill_null("(none)") for b in by if b in df.columns]
                  + [k.cast(pl.Boolean).alias("__kept")])
    total_kept = int(d["__kept"].sum() or 0)
    out = {"rows_in": d.height, "rows_kept": total_kept,
           "share_kept": round(total_kept / d.height, 4) if d.height else None}
    for b in by:
        if b not in d.columns:
            continue
        g = d.group_by(b).agg(pl.len().alias("n"), pl.col("__kept").sum().alias("k")).sort(b)
        out[f"by_{b}"] = {str(r[b]): {"rows": int(r["n"]), "kept": int(r["k"]),
                                      "share_kept": round(r["k"] / r["n"], 4) if r["n"] else None,
                                      "share_of_output": round(r["k"] / total_kept, 4) if total_kept else None}
                          for r in g.iter_rows(named=True)}
    return out


def check_columns(df: pl.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = [c for c in df.columns if c.startswith("score_")]
        raise ConfigError(f"{where}: score column(s) {missing} not found; add the step that makes "
                          f"them before this one (score columns present: {have})")
