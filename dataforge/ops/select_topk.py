"""select_topk: the k best rows of each group (by default each task)."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT
from dataforge.score.select import (NORMALIZE, STRATA, Normalize, Strata, check_columns, kept_shares, needs_groups,
                                    rank_score, strata_columns)


@register
class SelectTopK(GlobalOp):
    """Keep the k best rows of each group (default: each task) by a score.

    Rank rows within each `by` group (default `task`) by the product of `score`
    columns, normalised within its `normalize_by` strata (default task, meta.template,
    meta.prompt_type; `normalize`: percentile (default), zscore or none), ties broken by id;
    keep the first `k`.
    Reason: "not_selected: rank 12 > 10 in task open_qa". Metrics: rows kept per source and task."""

    name = "select_topk"
    k: int = 1000
    score: list[str] = param(default_factory=lambda: ["score_quality"])
    by: str | None = "task"
    normalize: Normalize = "percentile"
    normalize_by: Strata = param(default_factory=lambda: list(STRATA))

    def validate(self):
        if self.k < 0:
            raise ConfigError(f"operator '{self.name}': k must be >= 0")
        if self.normalize not in NORMALIZE:
            raise ConfigError(f"operator '{self.name}': normalize must be one of {list(NORMALIZE)}")

    def columns_in(self):
        extra = [self.by] if self.by else []
        if self.normalize != "none":
            extra += strata_columns(self.normalize_by)
        return list(dict.fromkeys(list(self.score) + extra))

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    # the ranking, in one place: `run` and `run_ray` both use these
    def sort_key(self, columns=None) -> pl.Expr:
        """Ascending sort key, best row first (ties: by id); `columns`: the frame's."""
        return -rank_score(self.score, self.name, self.normalize, self.normalize_by, columns)

    def group(self) -> pl.Expr:
        return pl.col(self.by).cast(pl.Utf8).fill_null("(none)") if self.by else pl.lit("all")

    def reason(self, rank: pl.Expr, group: pl.Expr) -> pl.Expr:
        where = f"{self.by} " if self.by else ""
        return pl.when(rank > self.k).then(
            pl.format(f"not_selected: rank {{}} > {self.k} in {where}{{}}", rank, group)).otherwise(None)

    def decide(self, df: pl.DataFrame) -> pl.DataFrame:
        """The whole frame with its reject reasons (null: kept), and the kept shares as metrics."""
        check_columns(df, self.score, f"operator '{self.name}'")
        rank = pl.struct(self.sort_key(df.columns).alias("s"), pl.col("id")).rank("ordinal")
        if self.by:
            rank = rank.over(self.by)
        out = df.with_columns(self.reason(rank, self.group()).alias(REJECT))
        self._metrics = {"normalize": self.normalize, "normalize_by": self.normalize_by,
                         **kept_shares(out, pl.col(REJECT).is_null())}
        return out

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        return self.decide(lf.collect())

    def run_ray(self, rows) -> pl.DataFrame:
        """Distributed form. Without normalisation the workers compute `sort_key` and `group`
        per part, the cluster sorts, and the rows stream back in order with their rank within
        the group; `reason` then decides as `run` does. Scores normalised within groups need
        whole groups, so the driver reads only the ranking columns and applies `decide`."""
        from dataforge.engine.ray_globals import ROW, ranked, to_polars

        check_columns(pl.DataFrame(schema=rows.schema), self.score, f"operator '{self.name}'")
        cols = list(dict.fromkeys(self.columns_in() + ["id"]))
        if needs_groups(self.normalize, self.normalize_by):
            extra = [c for c in ("source", "task") if c in rows.schema and c not in cols]
            df = to_polars(rows.dataset(cols + extra)).sort(ROW)
            return self.decide(df).filter(pl.col(REJECT).is_not_null()).select(ROW, REJECT)
        self._metrics = {"normalize": self.normalize, "normalize_by": self.normalize_by}
        out = [df.select(ROW, self.reason(pl.col("__rank"), pl.col("__g")).alias(REJECT)).drop_nulls(REJECT)
               for df in ranked(rows, cols, {"__s": self.sort_key(), "__g": self.group()}, ["__s", "id"], "__g")]
        return pl.concat(out) if out else pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8})
