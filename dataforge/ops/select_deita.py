"""select_deita: DEITA's score-first, diversity-aware selection (Liu et al. 2024)."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT, REJECT_DETAIL
from dataforge.score import texts
from dataforge.score.index import greedy_diverse
from dataforge.score.select import (NORMALIZE, STRATA, Normalize, Strata, check_columns, kept_shares, rank_score,
                                    strata_columns)


@register
class SelectDeita(GlobalOp):
    """DEITA selection: best score first, admit rows with cosine <= tau to all admitted, to a budget.

    Sort rows by score (the product of `score` columns, e.g. complexity x quality,
    normalised within its `normalize_by` strata, default task, meta.template and
    meta.prompt_type; `normalize`: percentile (default), zscore or none), then admit a row
    only if its cosine similarity to every row admitted so far is at
    most `tau`, until `budget` rows are admitted (the paper's rule; distilabel's DEITA
    step inverts it). Exact: candidates are checked in blocks against the admitted set
    with matrix products. Rejects: "too_similar: cos 0.93 > 0.90 to <id>" and
    "not_selected: below budget (ranking score 0.41; the last row admitted had 0.63)". Metrics:
    rows kept per source and task, and the ranking score of the last row admitted."""

    name = "select_deita"
    score: list[str] = param(default_factory=lambda: ["score_complexity", "score_quality"])
    tau: float = 0.9
    budget: int | None = None  # None: every row that passes the similarity rule
    fields: list[str] = param(default_factory=lambda: ["instruction", "input"])
    model: str | None = None
    max_chars: int = 1000
    normalize: Normalize = "percentile"
    normalize_by: Strata = param(default_factory=lambda: list(STRATA))

    def validate(self):
        if not -1.0 <= self.tau <= 1.0:
            raise ConfigError(f"operator '{self.name}': tau is a cosine, in [-1, 1]")
        if self.budget is not None and self.budget < 0:
            raise ConfigError(f"operator '{self.name}': budget must be >= 0")
        if self.normalize not in NORMALIZE:
            raise ConfigError(f"operator '{self.name}': normalize must be one of {list(NORMALIZE)}")

    def columns_in(self):
        extra = strata_columns(self.normalize_by) if self.normalize != "none" else []
        return list(dict.fromkeys(list(self.score) + list(self.fields) + extra))

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        check_columns(df, self.score, f"operator '{self.name}'")
        s = df.select(rank_score(self.score, self.name, self.normalize, self.normalize_by, df.columns)) \
            .to_series().to_numpy()
        # best score first; ties by id so the choice does not depend on input order
        order = np.lexsort((df["id"].to_numpy(), -s))
        vecs = texts.embed(self, df, self.fields, self.model, self.max_chars)
        admitted, sim, near = greedy_diverse(vecs, order, self.tau, self.budget)
        cut = float(s[admitted].min()) if admitted.any() else None
        self._metrics = {"normalize": self.normalize, "normalize_by": self.normalize_by,
                         "last_admitted_score": round(cut, 4) if cut is not None else None,
                         **kept_shares(df, pl.Series(admitted, dtype=pl.Boolean))}
        return mark(df, admitted, sim, near, self.tau, s, cut)


def mark(df: pl.DataFrame, admitted: np.ndarray, sim: np.ndarray, near: np.ndarray, tau: float,
         score: np.ndarray | None = None, cut: float | None = None) -> pl.DataFrame:
    """Reject reasons from the admission result (vectorised). With the ranking `score` and the
    last admitted row's (`cut`), a row below the budget says how far below it was."""
    near_id = df["id"].gather(np.clip(near, 0, None)) if df.height else df["id"]
    info = pl.DataFrame({
        "adm": admitted,
        "cos": pl.Series(sim, dtype=pl.Float64).fill_nan(None).round(3),
        "near": near_id.zip_with(pl.Series(near >= 0), pl.Series([None] * len(near), dtype=pl.Utf8)),
        "rank_score": pl.Series(score if score is not None else np.full(len(admitted), np.nan), dtype=pl.Float64)
        .fill_nan(None).round(4),
    })
    too_similar = ~pl.col("adm") & pl.col("cos").is_not_null()
    below = pl.lit("not_selected: below budget")
    if score is not None and cut is not None:
        below = pl.format(f"not_selected: below budget (ranking score {{}}; the last row admitted had {cut:.2f})",
                          pl.col("rank_score").round(2))
    reason = (pl.when(pl.col("adm")).then(None)
              .when(too_similar)
              .then(pl.format(f"too_similar: cos {{}} > {tau:.2f} to {{}}", pl.col("cos").round(2), pl.col("near")))
              .otherwise(below).alias(REJECT))
    detail = (pl.when(too_similar)
              .then(pl.struct(pl.col("cos"), pl.col("near").alias("similar_to"), pl.lit(tau).alias("tau"),
                              pl.col("rank_score")).struct.json_encode())
              .when(~pl.col("adm") & pl.col("rank_score").is_not_null())
              .then(pl.struct(pl.col("rank_score"), pl.lit(cut).alias("last_admitted_score")).struct.json_encode())
              .otherwise(None).alias(REJECT_DETAIL))
    return pl.concat([df, info.select(reason, detail)], how="horizontal")
