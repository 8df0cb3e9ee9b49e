"""score_label: how plausible each row's label is, learnt from the other rows (wrong-label finder)."""
from __future__ import annotations

import polars as pl

from dataforge.ops.base import GlobalOp, param, register
from dataforge.score import answers as A
from dataforge.score import label_noise


@register
class ScoreLabel(GlobalOp):
    """Plausibility of the row's label in [0, 1]: wrong labels score low.

    For label tasks only (classification, NLI, sentiment, topic, ...): a TF-IDF + logistic
    regression classifier per source and task, trained out of fold (`folds`), predicts the
    label from the classified text and any rationale in the response; the score is the
    probability of the row's own label among the labels of its template (confident learning).
    Features: TF-IDF words and, with `embeddings`, the sentence embedding of `model` (else the
    run's `embedding:`).
    Other rows, rows asking for text given a label (inverted rows), and groups smaller than
    `min_rows` get null. Needs every row of a group, so it is a global step; rejects nothing
    (select with `select_threshold: {min: {score_label: 0.1}, keep_missing: true}`)."""

    name = "score_label"
    label_tasks: list[str] = param(default_factory=lambda: ["classification", "nli", "sentiment", "topic",
                                                            "paraphrase", "multiple_choice"])
    generation_tasks: list[str] = param(default_factory=lambda: ["text_generation", "question_generation"])
    folds: int = 5
    min_rows: int = 40
    min_label_rows: int = 5
    short_words: int = 4
    embeddings: bool = True  # sentence embeddings next to the TF-IDF words (the run's `embedding`)
    model: str | None = None  # embedding model; None: the run's `embedding:`, else MiniLM
    inputs = ("instruction", "input", "output", "task", "source", "meta")
    outputs = ("score_label",)

    def validate(self):
        from dataforge.errors import ConfigError
        if self.folds < 2:
            raise ConfigError(f"operator '{self.name}': folds must be >= 2")

    def fingerprint_extra(self):
        from dataforge.score.rules import digest
        return digest(A.ALIGNMENT)  # where the final answer sits (rules/score/alignment.yaml)

    def _embed(self, texts: list[str]):
        from dataforge import embed as E
        return E.for_op(self, self.model).encode(texts)

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        work = df.with_columns(*[pl.lit(None, dtype=pl.Utf8).alias(c)  # optional context columns
                                 for c in ("input", "meta", "source", "task") if c not in df.columns])
        s = label_noise.label_scores(work, label_rows=A.label_rows(self.label_tasks, self.generation_tasks),
                                     short_words=self.short_words,
                                     folds=self.folds, min_rows=self.min_rows,
                                     min_label_rows=self.min_label_rows, seed=self.ctx.seed,
                                     embed=self._embed if self.embeddings else None)
        return df.with_columns(s)
