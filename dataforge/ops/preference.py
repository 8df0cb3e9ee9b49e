"""preference_pairs: chosen/rejected pairs for reward models and DPO from scored responses."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT, meta_set
from dataforge.score.select import check_columns, score_expr

REJECTED = "rejected"


@register
class PreferencePairs(GlobalOp):
    """Chosen / rejected pairs per prompt from a score: one row per pair, `rejected` column.

    Group rows with the same prompt (`group_by`, default instruction + input); in each
    group the best-scored response is `chosen` and the worst `rejected`, when the chosen
    one scores more than `min_margin` higher. One row per pair comes out: the chosen row,
    whose `output` is the chosen response, with a string column `rejected` holding the
    rejected response (meta gets rejected_id, chosen_score, rejected_score). The export
    step maps it to prompt / chosen / rejected; keep the column with
    `output.keep_columns: [rejected]`. Every other row is rejected with its reason:
    "preference: used in pair <id>", "preference: unused response of pair <id>",
    "preference: single response", "preference: margin 0.02 <= 0.1 in pair <id>",
    "preference: missing score"."""

    name = "preference_pairs"
    score: list[str] = param(default_factory=lambda: ["score_quality"])
    min_margin: float = 0.0
    group_by: list[str] = param(default_factory=lambda: ["instruction", "input"])

    def validate(self):
        if not self.group_by:
            raise ConfigError(f"operator '{self.name}': group_by needs at least one column")
        if self.min_margin < 0:
            raise ConfigError(f"operator '{self.name}': min_margin must be >= 0")

    def columns_in(self):
        return list(self.score) + list(self.group_by)

    def columns_out(self):
        return [REJECTED]

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        check_columns(df, self.score, f"operator '{self.name}'")
        s = pl.col("__s")
        valid = s.is_not_null()
        g = self.group_by
        best_first = pl.col("id").filter(valid).sort_by([s.filter(valid), pl.col("id").filter(valid)],
                                                         descending=[True, False])
        worst_first = pl.col("id").filter(valid).sort_by([s.filter(valid), pl.col("id").filter(valid)],
                                                          descending=[False, True])
        df = df.with_columns(
            score_expr(self.score, self.name).alias("__s") if len(self.score) > 1
            else pl.col(self.score[0]).cast(pl.Float64).fill_nan(None).alias("__s"))
        df = df.with_columns(
            valid.sum().over(g).alias("__n"),
            best_first.first().over(g).alias("__chosen"),
            worst_first.first().over(g).alias("__rej"),
            s.max().over(g).alias("__hi"),
            s.min().over(g).alias("__lo"),
        ).with_columns(
            pl.col("output").filter(pl.col("id") == pl.col("__rej")).first().over(g).alias("__rej_out"),
            (pl.col("__hi") - pl.col("__lo")).alias("__margin"),
        )
        pair = pl.col("__chosen")
        reason = (
            pl.when(~valid).then(pl.lit("preference: missing score"))
            .when(pl.col("__n") < 2).then(pl.lit("preference: single response"))
            .when(pl.col("__margin") <= self.min_margin)
            .then(pl.format(f"preference: margin {{}} <= {self.min_margin} in pair {{}}",
                            pl.col("__margin").round(4), pair))
            .when(pl.col("id") == pl.col("__chosen")).then(None)
            .when(pl.col("id") == pl.col("__rej")).then(pl.format("preference: used in pair {}", pair))
            .otherwise(pl.format("preference: unused response of pair {}", pair))
        )
        out = df.with_columns(reason.alias(REJECT)).with_columns(
            pl.when(pl.col(REJECT).is_null()).then(pl.col("__rej_out")).otherwise(None).alias(REJECTED),
            pl.when(pl.col(REJECT).is_null()).then(
                meta_set(pl.col("meta"), rejected_id=pl.col("__rej"), chosen_score=pl.col("__hi"),
                         rejected_score=pl.col("__lo"))).otherwise(pl.col("meta")).alias("meta"),
        )
        return out.drop("__s", "__n", "__chosen", "__rej", "__hi", "__lo", "__rej_out", "__margin")
