"""score_clarity: how clear an instruction is (0 vague or unusable .. 1 clear)."""
from __future__ import annotations

import polars as pl

from dataforge.ops.base import register
from dataforge.score import clarity as C
from dataforge.ops.base_judged import JudgedScore


@register
class ScoreClarity(JudgedScore):
    """Clarity of the instruction in [0, 1] from rules, optionally blended with an LLM judge.

    Rule-based: length, readability, vague references with no input, unfilled
    placeholders, several questions, a bare verb with nothing to act on (rules/score/clarity.yaml);
    optionally blended with an LLM judge ensemble (rules/prompts/judge_clarity.yaml)."""

    name = "score_clarity"
    aspect = "clarity"
    rules_files = (C.CLARITY, C.GENERIC, C.STOPWORDS, C.VERBS)
    inputs = ("instruction", "input")

    def heuristic(self, df: pl.DataFrame) -> pl.Series:
        return C.score(df)
