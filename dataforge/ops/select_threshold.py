"""select_threshold: keep rows whose scores lie within bounds (a row-local filter)."""
from __future__ import annotations

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import FilterOp, param, register


@register
class SelectThreshold(FilterOp):
    """Keep rows whose scores lie within `min` / `max` bounds.

    `min: {score_quality: 0.5}` drops rows below 0.5; `max:` bounds from above. A null
    score fails its bound unless `keep_missing: true`. Reason: "below_threshold: score_x 0.31 < 0.5"."""

    name = "select_threshold"
    min: dict[str, float] = param(default_factory=dict)
    max: dict[str, float] = param(default_factory=dict)
    keep_missing: bool = False

    def validate(self):
        if not self.min and not self.max:
            raise ConfigError(f"operator '{self.name}': give `min:` and/or `max:` bounds per score column")

    def columns_in(self):
        return sorted(set(self.min) | set(self.max))

    def reasons(self, df: pl.DataFrame) -> pl.Expr:
        r = None
        for col, bound in self.min.items():
            r = self._rule(r, col, pl.col(col) < bound, f"below_threshold: {col} {{}} < {bound}")
        for col, bound in self.max.items():
            r = self._rule(r, col, pl.col(col) > bound, f"above_threshold: {col} {{}} > {bound}")
        return r.otherwise(None)

    def _rule(self, r, col: str, fails: pl.Expr, fmt: str):
        v = pl.col(col).cast(pl.Float64)
        missing = v.is_null() | v.is_nan()
        bad = (fails & ~missing) | (missing & pl.lit(not self.keep_missing))
        text = pl.when(missing).then(pl.lit(f"missing_score: {col} is null")) \
            .otherwise(pl.format(fmt, v.round(4)))
        return pl.when(bad).then(text) if r is None else r.when(bad).then(text)
