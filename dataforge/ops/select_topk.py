"""select_topk: the k best rows of each group (by default each task)."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT
from dataforge.score.select import NORMALIZE, Normalize, check_columns, kept_shares, rank_score


@register
class SelectTopK(GlobalOp):
    """Keep the k best rows of each group (default: each task) by a score.

    Rank rows within each `by` group (default `task`) by the product of `score`
    columns, each normalised within its `normalize_by` group (default `task`; `normalize`:
    percentile (default), zscore or none), ties broken by id; keep the first `k`.
    Reason: "not_selected: rank 12 > 10 in task open_qa". Metrics: rows kept per source and task."""

    name = "select_topk"
    k: int = 1000
    score: list[str] = param(default_factory=lambda: ["score_quality"])
    by: str | None = "task"
    normalize: Normalize = "percentile"
    normalize_by: str | None = "task"

    def validate(self):
        if self.k < 0:
            raise ConfigError(f"operator '{self.name}': k must be >= 0")
        if self.normalize not in NORMALIZE:
            raise ConfigError(f"operator '{self.name}': normalize must be one of {list(NORMALIZE)}")

    def columns_in(self):
        extra = [self.by] if self.by else []
        if self.normalize != "none" and self.normalize_by:
            extra.append(self.normalize_by)
        return list(dict.fromkeys(list(self.score) + extra))

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def reason(self) -> pl.Expr:
        """The reject reason of every row (null: kept): one expression for the local and the
        Ray form, over a frame with the score, group and id columns."""
        s = rank_score(self.score, self.name, self.normalize, self.normalize_by)
        rank = pl.struct((-s).alias("s"), pl.col("id")).rank("ordinal")
        group = pl.lit(self.by or "all")
        if self.by:
            rank = rank.over(self.by)
            group = pl.col(self.by).cast(pl.Utf8).fill_null("(none)")
        where = f"{self.by} " if self.by else ""
        return pl.when(rank > self.k).then(
            pl.format(f"not_selected: rank {{}} > {self.k} in {where}{{}}", rank, group)).otherwise(None)

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        check_columns(df, self.score, f"operator '{self.name}'")
        out = df.with_columns(self.reason().alias(REJECT))
        self._metrics = {"normalize": self.normalize, "normalize_by": self.normalize_by,
                         **kept_shares(out, pl.col(REJECT).is_null())}
        return out
