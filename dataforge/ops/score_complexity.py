"""score_complexity: how demanding an instruction is (0 trivial .. 1 complex), DEITA-style."""
from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from dataforge.generate import prompts
from dataforge.ops.base import MapOp, register
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.score import complexity as CX
from dataforge.score import heuristics as H
from dataforge.score import judge as J
from dataforge.score.rules import digest_with_files


@register
class ScoreComplexity(PromptFileOp, MapOp):
    """Complexity of the instruction in [0, 1]: DEITA's expected score from an LLM, else rules.

    With an LLM (`method: llm`, or `auto` when the run has --llm): DEITA's expected score
    sum_k k * p(k) over the model's probabilities of "1".."6" (`prompt_file`, default
    rules/prompts/judge_complexity.yaml),
    mapped from [1, 6] to [0, 1]; a reply without log-probabilities falls back to the number
    it contains, and a failed one to the heuristic. Without an LLM: rule-based points for what
    the request demands (requested length, constraints, output format, reasoning, several
    parts, domain, the task kind); few-shot exemplars, passages and inputs are context: only
    an input's share of rare words counts, never its length (rules/score/complexity.yaml).
    A request in French, Spanish, German, Portuguese, Italian, Chinese or Japanese is read with
    patterns of its own and gets the typical rare-word points, so it scores about as its
    English twin; other languages get the typical points and only language-neutral demands."""

    name = "score_complexity"
    method: Literal["auto", "heuristic", "llm"] = "heuristic"
    llm: str | None = None  # backend spec for the judge; default: the run's --llm
    prompt_file: str | None = None  # default judge_complexity.yaml
    inputs = ("instruction", "input", "task", "meta")
    outputs = ("score_complexity",)

    def prompt_path(self) -> str:
        return self.prompt_file or J.prompt_file("complexity")

    def fingerprint_extra(self):
        return {"rules": digest_with_files(H.COMPLEXITY, "lexical", "language.english", "language.other"),
                **super().fingerprint_extra()}

    def setup(self):
        use = self.method == "llm" or (self.method == "auto" and bool(self.llm or self.ctx.llm))
        self._judge = J.build(self, "complexity", None, "mean", file=str(prompts.find(self.prompt_path()))) \
            if use else None

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        h = CX.score(df).to_numpy()
        if self._judge is not None:
            judged = self._judge.scores(df).to_numpy(allow_copy=True).astype(np.float64)
            h = np.where(np.isnan(judged), h, judged)
        return df.with_columns(pl.Series("score_complexity", h, dtype=pl.Float64))
