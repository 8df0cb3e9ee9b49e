"""score_novelty: distance to the nearest other row in embedding space (0 duplicate .. 1 unlike any)."""
from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from dataforge.ops.base import GlobalOp, param, register
from dataforge.score import texts
from dataforge.score.index import nearest_other


@register
class ScoreNovelty(GlobalOp):
    """Novelty in [0, 1]: distance to the nearest other row in embedding space.

    1 - cosine to the nearest other row (clipped to [0, 1]), over the embedding of
    `fields`. Exact search in blocks of matrix products: O(n^2 d) flops, about 15 s
    for 50k rows on two idle cores (the embedding itself usually costs more).
    Rows the model cannot represent (`scripts`, as dedup_semantic: with MiniLM or the
    static model, rows mostly in other scripts than Latin) get null and are nobody's
    nearest row; the metrics count them (`rows_not_compared_script`).
    Needs every row, so it is a global step; rejects nothing."""

    name = "score_novelty"
    version = "2"  # 2: `scripts`
    fields: list[str] = param(default_factory=lambda: ["instruction", "input"])
    model: str | None = None
    max_chars: int = 1000
    scripts: Literal["auto", "latin", "all"] = "auto"
    outputs = ("score_novelty",)

    def columns_in(self):
        return list(self.fields)

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        vecs, unread = texts.embed_rows(self, df, self.fields, self.model, self.max_chars, self.scripts,
                                        then="their score_novelty is null")
        read = np.flatnonzero(~unread) if unread is not None else np.arange(df.height)
        best, _ = nearest_other(vecs[read])
        nov = np.full(df.height, np.nan)
        nov[read] = np.where(np.isfinite(best), np.clip(1.0 - best.astype(np.float64), 0.0, 1.0), 1.0)
        self._metrics = {"rows_not_compared_script": int(df.height - len(read))}
        return df.with_columns(pl.Series("score_novelty", nov, dtype=pl.Float64).fill_nan(None))
