"""select_random: a seeded random sample, overall or per group."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, register
from dataforge.rand import keys_in_id_order
from dataforge.schema import REJECT


@register
class SelectRandom(GlobalOp):
    """Keep `n` rows (or a `fraction`) chosen at random, per `by` group when given.
    Seeded by the run's seed and `seed`; keys are drawn in id order, so the sample does not
    depend on row order. Reason: "not_selected: random sample"."""

    name = "select_random"
    n: int | None = None
    fraction: float | None = None
    by: str | None = None
    seed: int = 0

    def validate(self):
        if (self.n is None) == (self.fraction is None):
            raise ConfigError(f"operator '{self.name}': give exactly one of `n` or `fraction`")
        if self.fraction is not None and not 0.0 <= self.fraction <= 1.0:
            raise ConfigError(f"operator '{self.name}': fraction must be in [0, 1]")
        if self.n is not None and self.n < 0:
            raise ConfigError(f"operator '{self.name}': n must be >= 0")

    def columns_in(self):
        return [self.by] if self.by else []

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        # random keys drawn in id order, so the sample depends on the seed and the ids only
        u = keys_in_id_order(df["id"], self.ctx.seed, self.seed)
        rank = pl.col("__u").rank("ordinal")
        size = pl.len()
        if self.by:
            rank, size = rank.over(self.by), size.over(self.by)
        quota = pl.lit(self.n) if self.n is not None else (size * self.fraction).round(0).cast(pl.Int64)
        reason = pl.when(rank > quota).then(pl.lit("not_selected: random sample")).otherwise(None)
        return df.with_columns(pl.Series("__u", u)).with_columns(reason.alias(REJECT)).drop("__u")
