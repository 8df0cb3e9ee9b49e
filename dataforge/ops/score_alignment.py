"""score_alignment: does the response answer the instruction (0 unrelated .. 1 on target)."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.embed import cosine_pairs
from dataforge.errors import ConfigError
from dataforge.ops.base import param, register
from dataforge.score import answers as A
from dataforge.score import texts
from dataforge.score.rules import load_yaml
from dataforge.ops.base_judged import JudgedScore


@register
class ScoreAlignment(JudgedScore):
    """Whether the output answers the instruction, in [0, 1] (embeddings + answer-type checks).

    Embedding similarity of prompt (instruction + input) and output, rescaled from
    [low, high] to [0, 1], times `check_factor` when an answer-type check fails:
    a label answer outside the label set, an extractive answer that is not in the input,
    a summary not shorter than its source. Short answers (at most `short_words` words of
    rules/score/alignment.yaml: labels, numbers, yes/no, spans) are judged on their own
    terms: one the prompt offers or the label set holds, a span of the input, a number
    for a quantity question, yes/no for a yes/no question scores `short_pass` +
    (1 - `short_pass`) x similarity; none of the offered alternatives scores
    `check_factor` x similarity. Rows that ask for text given a label (inverted rows,
    `generation_tasks` or meta prompt_type "inversion") are never judged as labels.
    Optional LLM judge blend."""

    name = "score_alignment"
    aspect = "alignment"
    model: str | None = None  # sentence-transformers model; default all-MiniLM-L6-v2
    max_chars: int = 1000  # the model reads ~256 tokens; longer text only costs time
    low: float = 0.05  # cosine at or below this scores 0 (unrelated pairs sit near 0.0-0.1)
    high: float = 0.6  # cosine at or above this scores 1
    check_factor: float = 0.3
    label_tasks: list[str] = param(default_factory=lambda: ["classification", "nli", "sentiment", "topic",
                                                            "paraphrase", "multiple_choice"])
    labels: dict[str, list[str]] = param(default_factory=dict)  # task -> allowed outputs
    label_min_share: float = 0.02  # inferred label set: outputs with at least this share of their source+task
    label_min_count: int = 3  # ... and at least this many rows (one answer seen once is not a label)
    extractive_tasks: list[str] = param(default_factory=lambda: ["extractive_qa"])
    summary_tasks: list[str] = param(default_factory=lambda: ["summarization"])
    generation_tasks: list[str] = param(default_factory=lambda: ["text_generation", "question_generation"])
    short_pass: float = 0.75  # floor of a short answer that passes its answer-type check
    inputs = ("instruction", "input", "output", "task", "source", "meta")
    rules_files = (A.ALIGNMENT,)

    def validate(self):
        super().validate()
        if not self.low < self.high:
            raise ConfigError(f"operator '{self.name}': low must be < high")
        if not 0.0 <= self.short_pass <= 1.0:
            raise ConfigError(f"operator '{self.name}': short_pass must be in [0, 1]")

    def heuristic(self, df: pl.DataFrame) -> pl.Series:
        a = texts.embed(self, df, ["instruction", "input"], self.model, self.max_chars)
        b = texts.embed(self, df, ["output"], self.model, self.max_chars)
        cos = cosine_pairs(a, b).astype(np.float64)
        sim = pl.Series("sim", np.clip((cos - self.low) / (self.high - self.low), 0.0, 1.0))
        d = self._with_context(df).with_columns(sim)
        s = pl.col("sim")
        verdict = pl.col("__verdict")
        score = (pl.when(verdict == 1).then(self.short_pass + (1.0 - self.short_pass) * s)
                 .when((verdict == -1) | pl.col("__failed")).then(s * self.check_factor)
                 .otherwise(s))
        return d.select(score.alias(self.column)).to_series()

    def _with_context(self, df: pl.DataFrame) -> pl.DataFrame:
        cfg = load_yaml(A.ALIGNMENT)
        ans = A.final_answer(cfg)
        in_set, label_row = self._label_set(ans)
        listed = A.list_in_prompt(df, cfg)
        # meta and source are optional context: a frame without them is judged without it
        df = df.with_columns(*[pl.lit(v).alias(c) for c, v in (("meta", "{}"), ("source", "")) if c not in df.columns])
        # a label written as a sentence ("The article is mainly about business.", a template's
        # verbaliser) that is one of its set's answers passes as the bare label does: its few
        # words carry as little for embeddings (a new user's AG News rows: median 0.37)
        words = ans.fill_null("").str.strip_chars().str.count_matches(r"\S+")
        sentence_label = label_row & in_set & (words <= int(cfg.get("label_sentence_words", 0)))
        return df.with_columns(
            pl.when(sentence_label).then(pl.lit(1)).otherwise(A.short_verdict(cfg, label_row & in_set, pl.lit(listed)))
            .alias("__verdict"),
            self.check_failures(ans, in_set, label_row).alias("__failed"))

    def _label_set(self, ans: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        """(answer in the label set, row is a label row). The set: `labels[task]` when given,
        else the answers that make at least `label_min_share` (and `label_min_count` rows) of their source + task."""
        task = pl.col("task").fill_null("")
        low = A._norm(ans)
        grp = ["source", "task"]
        count = pl.len().over(grp + [low])
        inferred = (count / pl.len().over(grp) >= self.label_min_share) & (count >= self.label_min_count)
        given = pl.lit(False)
        for t, labs in self.labels.items():
            given = given | ((task == t) & low.is_in([A.norm_text(x) for x in labs]))
        in_set = pl.when(task.is_in(list(self.labels))).then(given).otherwise(inferred)
        # an inferred set exists only where most answers of the source + task belong to one:
        # free-text answers (a multiple-choice set with its choices hidden) form none to check
        covered = inferred.cast(pl.Float64).mean().over(grp) >= float(load_yaml(A.ALIGNMENT)["label_set_min_coverage"])
        label_row = A.label_rows(self.label_tasks, self.generation_tasks) & (task.is_in(list(self.labels)) | covered)
        return in_set, label_row

    def check_failures(self, ans: pl.Expr | None = None, in_set: pl.Expr | None = None,
                       label_row: pl.Expr | None = None) -> pl.Expr:
        """True where an answer-type check fails (vectorised)."""
        cfg = load_yaml(A.ALIGNMENT)
        ans = A.final_answer(cfg) if ans is None else ans
        if in_set is None or label_row is None:
            in_set, label_row = self._label_set(ans)
        out = ans.fill_null("").str.strip_chars()
        inp = pl.col("input").fill_null("")
        task = pl.col("task").fill_null("")
        low_out = out.str.to_lowercase()
        gen = A.asks_for_text(self.generation_tasks)
        # a label check needs a label: a sentence-long answer ("The article is mainly about
        # sports.", "No. A field is not a street.") is judged by similarity instead
        short = out.str.count_matches(r"\S+") <= int(load_yaml(A.ALIGNMENT)["short_words"])
        label_fail = label_row & short & ~in_set
        extract_fail = task.is_in(self.extractive_tasks) & ~gen & (out != "") & \
            ~inp.str.to_lowercase().str.contains(low_out, literal=True)
        full = pl.col("output").fill_null("")
        summary_fail = task.is_in(self.summary_tasks) & ~gen & (inp != "") & \
            (full.str.len_chars() >= inp.str.len_chars())
        return label_fail | extract_fail | summary_fail
