"""judge: an LLM-as-judge ensemble score on its own, `score_judge_<aspect>` in [0, 1]."""
from __future__ import annotations

from typing import Literal

import polars as pl

from dataforge.generate import prompts
from dataforge.ops.base import MapOp, param, register
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.score import judge as J


@register
class ScoreJudge(PromptFileOp, MapOp):
    """LLM-as-judge ensemble score `score_judge_<aspect>` in [0, 1] (mean or majority vote).

    Renders every prompt of `prompt_file` (default rules/prompts/judge_<aspect>.yaml), or
    those named in `prompts`, for each row, asks the run's LLM (--llm), parses the JSON score,
    aggregates the ensemble by mean or majority vote (or by the weights a prompt search fitted:
    `weighted`, `weighted_majority`) and maps the scale to [0, 1]. Null where every
    prompt failed. Cached per (model, prompt, sampling) in OUT/cache/judge/."""

    name = "judge"
    aspect: Literal["clarity", "alignment", "quality", "complexity"] = "quality"
    prompts: list[str] = param(default_factory=list)
    aggregate: Literal["mean", "majority", "weighted", "weighted_majority"] = "mean"
    max_tokens: int = 64
    llm: str | None = None  # backend spec for the judge; default: the run's --llm
    # default judge_<aspect>.yaml; or a file written by `dataforge prompt-search`, whose
    # `ensemble.weights` drive aggregate: weighted
    prompt_file: str | None = None
    inputs = ("instruction", "input", "output")

    def columns_out(self):
        return [f"score_judge_{self.aspect}"]

    def prompt_path(self) -> str:
        return self.prompt_file or J.prompt_file(self.aspect)

    def setup(self):
        self._judge = J.build(self, self.aspect, self.prompts, self.aggregate, self.max_tokens,
                              file=str(prompts.find(self.prompt_path())))

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(self._judge.scores(df))
