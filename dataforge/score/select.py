"""Shared pieces of the selection operators: the ranking score and reject reasons."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError


def score_expr(columns: list[str], where: str) -> pl.Expr:
    """Product of the named score columns (DEITA ranks by complexity x quality); nulls count 0."""
    if not columns:
        raise ConfigError(f"{where}: name at least one score column in `score`")
    e = pl.lit(1.0)
    for c in columns:
        e = e * pl.col(c).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)
    return e


def check_columns(df: pl.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = [c for c in df.columns if c.startswith("score_")]
        raise ConfigError(f"{where}: score column(s) {missing} not found; add the step that makes "
                          f"them before this one (score columns present: {have})")
