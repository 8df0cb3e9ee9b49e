"""select_topk: the k best rows of each group (by default each task)."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT
from dataforge.score.select import check_columns, score_expr


@register
class SelectTopK(GlobalOp):
    """Keep the k best rows of each group (default: each task) by a score.

    Rank rows within each `by` group (default `task`) by the product of `score`
    columns, ties broken by id; keep the first `k`. Reason: "not_selected: rank 12 > 10 in task open_qa"."""

    name = "select_topk"
    k: int = 1000
    score: list[str] = param(default_factory=lambda: ["score_quality"])
    by: str | None = "task"

    def validate(self):
        if self.k < 0:
            raise ConfigError(f"operator '{self.name}': k must be >= 0")

    def columns_in(self):
        return list(self.score) + ([self.by] if self.by else [])

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        check_columns(df, self.score, f"operator '{self.name}'")
        s = score_expr(self.score, self.name)
        order = pl.struct((-s).alias("s"), pl.col("id"))
        rank = order.rank("ordinal")
        group = pl.lit(self.by or "all")
        if self.by:
            rank = rank.over(self.by)
            group = pl.col(self.by).cast(pl.Utf8).fill_null("(none)")
        where = f"{self.by} " if self.by else ""
        reason = pl.when(rank > self.k).then(
            pl.format(f"not_selected: rank {{}} > {self.k} in {where}{{}}", rank, group)).otherwise(None)
        return df.with_columns(reason.alias(REJECT))
