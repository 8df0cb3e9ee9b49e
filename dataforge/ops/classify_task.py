"""classify_task: a real task for imported rows whose task is unknown (rules/tasks/)."""
from __future__ import annotations

import polars as pl

from dataforge.ops.base import MapOp, register
from dataforge.schema import meta_set
from dataforge.tasks import classify as C


@register
class ClassifyTask(MapOp):
    """Label rows whose task is unknown ("", "unknown", "auto") with the rule-based task
    classifier of rules/tasks/classifier.yaml; other datasets' task names (Dolly's
    `information_extraction`, ...) are mapped to the taxonomy (rules/tasks/taxonomy.yaml).
    `meta.task_source` says "classifier" on the rows it labelled."""

    name = "classify_task"
    batch_parallel = True
    rules: str | None = None  # a file in rules/tasks/ (without .yaml) or a path; default classifier.yaml
    overwrite: bool = False  # classify every row, not only those with an unknown task
    map_aliases: bool = True  # rename known aliases to taxonomy names
    inputs = ("instruction",)  # input, task and meta are read when present
    outputs = ("task", "meta")

    def validate(self):
        C.load_rules(self.rules)

    def fingerprint_extra(self):
        return C.load_rules(self.rules)[1]

    def setup(self):
        self._doc = C.load_rules(self.rules)[0]
        self._aliases = C.aliases()

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        self.ensure_setup()
        task = pl.col("task").cast(pl.Utf8).fill_null("").str.strip_chars().str.to_lowercase() \
            if "task" in df.columns else pl.lit("")
        if self.map_aliases:
            task = task.replace(self._aliases)
        unknown = pl.lit(True) if self.overwrite else task.is_in(list(C.UNKNOWN))
        new = C.classify_expr(self._doc, has_input="input" in df.columns)
        meta = pl.col("meta") if "meta" in df.columns else pl.lit("{}")
        return df.with_columns(
            pl.when(unknown).then(new).otherwise(task).alias("task"),
            pl.when(unknown).then(meta_set(meta, task_source="classifier")).otherwise(meta).alias("meta"))
