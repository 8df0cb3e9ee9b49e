"""select_deita: DEITA's score-first, diversity-aware selection (Liu et al. 2024)."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT, REJECT_DETAIL
from dataforge.score import texts
from dataforge.score.index import greedy_diverse
from dataforge.score.select import NORMALIZE, Normalize, check_columns, kept_shares, rank_score


@register
class SelectDeita(GlobalOp):
    """DEITA selection: best score first, admit rows with cosine <= tau to all admitted, to a budget.

    Sort rows by score (the product of `score` columns, e.g. complexity x quality, each
    normalised within its `normalize_by` group, default the task; `normalize`: percentile
    (default), zscore or none), then admit a row only if its cosine similarity to every row admitted so far is at
    most `tau`, until `budget` rows are admitted (the paper's rule; distilabel's DEITA
    step inverts it). Exact: candidates are checked in blocks against the admitted set
    with matrix products. Rejects: "too_similar: cos 0.93 > 0.90 to <id>" and
    "not_selected: below budget". Metrics: rows kept per source and task."""

    name = "select_deita"
    score: list[str] = param(default_factory=lambda: ["score_complexity", "score_quality"])
    tau: float = 0.9
    budget: int | None = None  # None: every row that passes the similarity rule
    fields: list[str] = param(default_factory=lambda: ["instruction", "input"])
    model: str | None = None
    max_chars: int = 1000
    normalize: Normalize = "percentile"
    normalize_by: str | None = "task"

    def validate(self):
        if not -1.0 <= self.tau <= 1.0:
            raise ConfigError(f"operator '{self.name}': tau is a cosine, in [-1, 1]")
        if self.budget is not None and self.budget < 0:
            raise ConfigError(f"operator '{self.name}': budget must be >= 0")
        if self.normalize not in NORMALIZE:
            raise ConfigError(f"operator '{self.name}': normalize must be one of {list(NORMALIZE)}")

    def columns_in(self):
        extra = [self.normalize_by] if self.normalize != "none" and self.normalize_by else []
        return list(dict.fromkeys(list(self.score) + list(self.fields) + extra))

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        check_columns(df, self.score, f"operator '{self.name}'")
        s = df.select(rank_score(self.score, self.name, self.normalize, self.normalize_by)).to_series().to_numpy()
        # best score first; ties by id so the choice does not depend on input order
        order = np.lexsort((df["id"].to_numpy(), -s))
        vecs = texts.embed(self, df, self.fields, self.model, self.max_chars)
        admitted, sim, near = greedy_diverse(vecs, order, self.tau, self.budget)
        self._metrics = {"normalize": self.normalize, "normalize_by": self.normalize_by,
                         **kept_shares(df, pl.Series(admitted, dtype=pl.Boolean))}
        return mark(df, admitted, sim, near, self.tau)


def mark(df: pl.DataFrame, admitted: np.ndarray, sim: np.ndarray, near: np.ndarray, tau: float) -> pl.DataFrame:
    """Reject reasons from the admission result (vectorised)."""
    near_id = df["id"].gather(np.clip(near, 0, None)) if df.height else df["id"]
    info = pl.DataFrame({
        "adm": admitted,
        "cos": pl.Series(sim, dtype=pl.Float64).fill_nan(None).round(3),
        "near": near_id.zip_with(pl.Series(near >= 0), pl.Series([None] * len(near), dtype=pl.Utf8)),
    })
    too_similar = ~pl.col("adm") & pl.col("cos").is_not_null()
    reason = (pl.when(pl.col("adm")).then(None)
              .when(too_similar)
              .then(pl.format(f"too_similar: cos {{}} > {tau:.2f} to {{}}", pl.col("cos").round(2), pl.col("near")))
              .otherwise(pl.lit("not_selected: below budget")).alias(REJECT))
    detail = (pl.when(too_similar)
              .then(pl.struct(pl.col("cos"), pl.col("near").alias("similar_to"), pl.lit(tau).alias("tau"))
                    .struct.json_encode())
              .otherwise(None).alias(REJECT_DETAIL))
    return pl.concat([df, info.select(reason, detail)], how="horizontal")
