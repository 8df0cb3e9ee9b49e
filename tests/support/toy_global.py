"""A toy global operator with a distributed form: docs/architecture.md shows this file."""
import polars as pl

from dataforge.ops.base import GlobalOp, register
from dataforge.schema import REJECT


@register
class FirstWordOnce(GlobalOp):
    """Keep the first row for each opening word of the instruction; reject the later ones."""

    name = "toy_first_word_once"
    field: str = "instruction"

    def columns_in(self):
        return [self.field]

    def key(self) -> pl.Expr:  # one expression, used by both forms
        return pl.col(self.field).str.extract(r"^\W*(\w+)").str.to_lowercase().fill_null("")

    def decide(self) -> pl.Expr:  # over rows in input order, with the key's hash "__h"
        seen = ~pl.col("__h").is_first_distinct()
        return pl.when(seen).then(pl.lit("first_word_seen: an earlier row starts alike")).alias(REJECT)

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect().with_columns(self.key().hash(seed=0).reinterpret(signed=True).alias("__h"))
        return df.with_columns(self.decide()).drop("__h")

    def run_ray(self, rows) -> pl.DataFrame:
        from dataforge.engine.ray_globals import ROW, hash_members

        # the workers hash the key; only rows whose hash repeats come back, in row order
        members = hash_members(rows, self.key(), [self.field])
        return members.select(ROW, self.decide()).drop_nulls(REJECT)
