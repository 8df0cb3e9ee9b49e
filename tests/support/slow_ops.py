"""Operators for engine tests (registered when imported)."""
from __future__ import annotations

import os
import time

import polars as pl

from dataforge.ops.base import FilterOp, GlobalOp, MapOp, register


@register
class SlowUpper(MapOp):
    """Upper-cases output, sleeping per batch so a test can kill it mid-stage."""

    name = "test_slow_upper"
    sleep: float = 0.0
    marker: str = ""  # a file touched when a batch is processed, to count work

    def map(self, df):
        if self.marker:
            with open(self.marker, "a") as fh:
                fh.write(f"{df.height}\n")
        time.sleep(self.sleep)
        return df.with_columns(pl.col("output").str.to_uppercase())


@register
class SlowUpperParallel(SlowUpper):
    """The same, declared safe on two batches at once (the engine then runs two side by side)."""

    name = "test_slow_upper_parallel"
    batch_parallel = True


@register
class DropOdd(FilterOp):
    name = "test_drop_odd_len"

    def reasons(self, df):
        return pl.when(pl.col("instruction").str.len_chars() % 2 == 1).then(pl.lit("odd_length: instruction")).otherwise(None)


@register
class KeepFirstOfDup(GlobalOp):
    name = "test_dedup_output"

    def run(self, lf):
        df = lf.collect()
        first = df.select(pl.col("output").is_first_distinct()).to_series()
        return df.with_columns(pl.when(~first).then(pl.lit("dup: same output")).otherwise(None).alias("_reject"))


@register
class Loser(MapOp):
    """Buggy on purpose: drops a row without a reason."""

    name = "test_loser"

    def map(self, df):
        return df.head(max(df.height - 1, 0))


@register
class Doubler(MapOp):
    name = "test_doubler"
    adds_rows = True

    def map(self, df):
        copy = df.with_columns((pl.col("id") + "-b").alias("id"), pl.col("id").alias("parent_id"))
        return pl.concat([df, copy])
