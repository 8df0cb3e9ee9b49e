"""score_alignment: does the response answer the instruction (0 unrelated .. 1 on target)."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.embed import cosine_pairs
from dataforge.errors import ConfigError
from dataforge.ops.base import param, register
from dataforge.score import texts
from dataforge.ops.base_judged import JudgedScore


@register
class ScoreAlignment(JudgedScore):
    """Whether the output answers the instruction, in [0, 1] (embeddings + answer-type checks).

    Embedding similarity of prompt (instruction + input) and output, rescaled from
    [low, high] to [0, 1], times `check_factor` when an answer-type check fails:
    a classification output outside the label set, an extractive answer that is not in
    the input, a summary not shorter than its source. Optional LLM judge blend."""

    name = "score_alignment"
    aspect = "alignment"
    model: str | None = None  # sentence-transformers model; default all-MiniLM-L6-v2
    max_chars: int = 1000  # the model reads ~256 tokens; longer text only costs time
    low: float = 0.05  # cosine at or below this scores 0 (unrelated pairs sit near 0.0-0.1)
    high: float = 0.6  # cosine at or above this scores 1
    check_factor: float = 0.3
    label_tasks: list[str] = param(default_factory=lambda: ["classification", "nli", "sentiment", "topic"])
    labels: dict[str, list[str]] = param(default_factory=dict)  # task -> allowed outputs
    label_min_share: float = 0.02  # inferred label set: outputs with at least this share of their source+task
    extractive_tasks: list[str] = param(default_factory=lambda: ["extractive_qa"])
    summary_tasks: list[str] = param(default_factory=lambda: ["summarization"])
    inputs = ("instruction", "input", "output", "task", "source")

    def validate(self):
        super().validate()
        if not self.low < self.high:
            raise ConfigError(f"operator '{self.name}': low must be < high")

    def heuristic(self, df: pl.DataFrame) -> pl.Series:
        a = texts.embed(self, df, ["instruction", "input"], self.model, self.max_chars)
        b = texts.embed(self, df, ["output"], self.model, self.max_chars)
        cos = cosine_pairs(a, b).astype(np.float64)
        sim = np.clip((cos - self.low) / (self.high - self.low), 0.0, 1.0)
        failed = df.select(self.check_failures().alias("f")).to_series().to_numpy()
        return pl.Series(self.column, np.where(failed, sim * self.check_factor, sim))

    def check_failures(self) -> pl.Expr:
        """True where an answer-type check fails (vectorised)."""
        out = pl.col("output").fill_null("").str.strip_chars()
        inp = pl.col("input").fill_null("")
        task = pl.col("task").fill_null("")
        low_out = out.str.to_lowercase()
        # label set: given per task, else the outputs that make a real share of source+task
        grp = ["source", "task"]
        share = pl.len().over(grp + [low_out]) / pl.len().over(grp)
        inferred = share >= self.label_min_share
        given = pl.lit(False)
        for t, labs in self.labels.items():
            given = given | ((task == t) & low_out.is_in([x.strip().lower() for x in labs]))
        in_set = pl.when(task.is_in(list(self.labels))).then(given).otherwise(inferred)
        label_fail = task.is_in(self.label_tasks) & ~in_set
        extract_fail = task.is_in(self.extractive_tasks) & (out != "") & \
            ~inp.str.to_lowercase().str.contains(low_out, literal=True)
        summary_fail = task.is_in(self.summary_tasks) & (inp != "") & \
            (out.str.len_chars() >= inp.str.len_chars())
        return label_fail | extract_fail | summary_fail
