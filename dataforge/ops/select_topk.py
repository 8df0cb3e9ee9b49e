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
        order = pl.struct(self.sort_key().alias("s"), pl.col("id"))
        rank = order.rank("ordinal")
        if self.by:
            rank = rank.over(self.by)
        return df.with_columns(self.reason(rank, self.group()).alias(REJECT))

    # the ranking, in one place: `run` and `run_ray` both use these
    def sort_key(self) -> pl.Expr:
        """Ascending sort key, best row first (ties: by id)."""
        return -score_expr(self.score, self.name)

    def group(self) -> pl.Expr:
        return pl.col(self.by).cast(pl.Utf8).fill_null("(none)") if self.by else pl.lit("all")

    def reason(self, rank: pl.Expr, group: pl.Expr) -> pl.Expr:
        where = f"{self.by} " if self.by else ""
        return pl.when(rank > self.k).then(
            pl.format(f"not_selected: rank {{}} > {self.k} in {where}{{}}", rank, group)).otherwise(None)

    def run_ray(self, rows) -> pl.DataFrame:
        """Distributed form: the workers compute `sort_key` and `group` per part (so the key
        must be computed row by row), the cluster sorts, and the rows stream back in order
        with their rank within the group; `reason` then decides as `run` does."""
        from dataforge.engine.ray_globals import ROW, ranked

        check_columns(pl.DataFrame(schema=rows.schema), self.score, f"operator '{self.name}'")
        cols = list(dict.fromkeys(self.score + ([self.by] if self.by else []) + ["id"]))
        out = [df.select(ROW, self.reason(pl.col("__rank"), pl.col("__g")).alias(REJECT)).drop_nulls(REJECT)
               for df in ranked(rows, cols, {"__s": self.sort_key(), "__g": self.group()}, ["__s", "id"], "__g")]
        return pl.concat(out) if out else pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8})
