"""Seed tasks for Self-Instruct from pipeline rows.

Rows in the seed-task format (`instruction`, `instances[{input, output}]`, `is_classification`,
as sample_data/seed_tasks.jsonl) or ordinary records (`instruction`, `input`, `output`).
"""
from __future__ import annotations

import polars as pl


def seed_frame(df: pl.DataFrame) -> pl.DataFrame:
    """One row per seed instance: id, instruction, input, output, is_classification, has_instance."""
    clf = pl.col("is_classification").cast(pl.Boolean).fill_null(False) if "is_classification" in df.columns \
        else pl.lit(False)
    base = df.select(pl.col("id").cast(pl.Utf8), pl.col("instruction").cast(pl.Utf8).fill_null(""),
                     clf.alias("is_classification"),
                     *([pl.col("instances")] if "instances" in df.columns else []),
                     *([pl.col(c).cast(pl.Utf8) for c in ("input", "output") if c in df.columns]))
    if "instances" in base.columns:
        ex = base.with_columns(pl.col("instances").list.len().fill_null(0).alias("_n")) \
                 .explode("instances", empty_as_null=True, keep_nulls=True)
        fields = ex.schema["instances"].fields if isinstance(ex.schema["instances"], pl.Struct) else []
        names = {f.name for f in fields}
        get = lambda f: (pl.col("instances").struct.field(f).cast(pl.Utf8) if f in names  # noqa: E731
                         else pl.lit(None, dtype=pl.Utf8))
        return ex.select("id", "instruction", get("input").fill_null("").alias("input"),
                         get("output").alias("output"), "is_classification",
                         (pl.col("_n") > 0).alias("has_instance"))
    return base.select("id", "instruction",
                       (pl.col("input") if "input" in base.columns else pl.lit("")).fill_null("").alias("input"),
                       (pl.col("output") if "output" in base.columns else pl.lit(None, dtype=pl.Utf8)).alias("output"),
                       "is_classification",
                       (pl.col("output").is_not_null() if "output" in base.columns else pl.lit(False)).alias("has_instance"))
