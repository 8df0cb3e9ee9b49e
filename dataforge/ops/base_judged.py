"""JudgedScore: base of the per-row scores that blend a rule-based model with an optional LLM judge."""
from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl

from dataforge.errors import ConfigError
from dataforge.generate import prompts
from dataforge.ops.base import MapOp, param
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.score import judge as J
from dataforge.score.rules import digest


class JudgedScore(PromptFileOp, MapOp):
    """Subclasses set `aspect` and implement `heuristic(df) -> Series` in [0, 1].

    With `judge: true` the rows also go to the LLM judge ensemble of
    `prompt_file` (default rules/prompts/judge_<aspect>.yaml); `score_<aspect>` is then the blend
    (1 - judge_weight) * heuristic + judge_weight * judge, and the judge's own score is
    kept as `score_judge_<aspect>`.
    """

    aspect: ClassVar[str] = ""
    rules_files: ClassVar[tuple[str, ...]] = ()
    judge: bool = False
    llm: str | None = None  # backend spec for the judge; default: the run's --llm
    prompt_file: str | None = None  # the judge's prompts; default judge_<aspect>.yaml
    judge_weight: float = 0.5
    judge_prompts: list[str] = param(default_factory=list)
    aggregate: Literal["mean", "majority", "weighted", "weighted_majority"] = "mean"
    judge_max_tokens: int = 64

    def validate(self):
        if not 0.0 <= self.judge_weight <= 1.0:
            raise ConfigError(f"operator '{self.name}': judge_weight must be in [0, 1]")

    @property
    def column(self) -> str:
        return f"score_{self.aspect}"

    def columns_out(self):
        return [self.column] + ([f"score_judge_{self.aspect}"] if self.judge else [])

    def prompt_path(self) -> str:
        return self.prompt_file or J.prompt_file(self.aspect)

    def prompt_files(self) -> list[str]:
        return [self.prompt_path()] if self.judge else []

    def fingerprint_extra(self):
        return {"rules": digest(*self.rules_files) if self.rules_files else None, **super().fingerprint_extra()}

    def setup(self):
        self._judge = (J.build(self, self.aspect, self.judge_prompts, self.aggregate, self.judge_max_tokens,
                               file=str(prompts.find(self.prompt_path())))
                       if self.judge else None)

    def heuristic(self, df: pl.DataFrame) -> pl.Series:
        raise NotImplementedError

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        h = self.heuristic(df).cast(pl.Float64).alias(self.column)
        if self._judge is None:
            return df.with_columns(h)
        judged = self._judge.scores(df)
        return df.with_columns(J.blend(h, judged, self.judge_weight), judged)
