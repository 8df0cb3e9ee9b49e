"""Fitness of a prompt on a labelled development set. Higher is better.

- JudgeFitness: the prompt judges every dev row; its scores are compared with the labels
  (AUROC for two label values, Spearman for graded labels, or accuracy on the judge's scale).
  A reply that gives no score counts as the middle of the scale (it tells nothing).
- GeneratorFitness: the prompt is rendered with each dev row, the LLM's reply goes into the
  `produces` column, and the resulting rows are scored by dataforge's score operators
  (`score_quality`, `score_clarity`, `score_alignment`, `score_novelty`, or any registered
  operator named like the score column it writes). fitness = sum_c w_c * mean_c / sum_c w_c
  - reject_weight * rejection_rate, where rejected candidates (LLM error, empty or length-cut
  reply, and what the operator's own filters drop: rewrite's copy / lost-number / drift
  guards, Self-Instruct's instruction filters and ROUGE-L novelty; promptsearch/filters.py)
  score 0 in every mean_c.
- CallableFitness: any `f(candidate, dev, llm) -> float`.

`evaluate` takes a whole generation at once, so the backend sees one batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import polars as pl

from dataforge.errors import ConfigError, InputError
from dataforge.promptsearch import metrics as M
from dataforge.promptsearch.candidate import Candidate
from dataforge.promptsearch.filters import Filters

DEFAULT_WEIGHTS = {"score_quality": 0.4, "score_alignment": 0.3, "score_clarity": 0.3}


@dataclass
class Eval:
    fitness: float
    preds: np.ndarray | None = None  # per dev row (judges: raw scores; nan = no answer)
    detail: dict = field(default_factory=dict)


class Fitness:
    name = "fitness"

    def calls_per_candidate(self, dev: pl.DataFrame) -> int:
        return dev.height

    def evaluate(self, cands: list[Candidate], dev: pl.DataFrame, llm) -> list[Eval]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"fitness": self.name}


@dataclass
class JudgeFitness(Fitness):
    scale: tuple[int, int]
    label: str = "label"
    metric: str = "auto"
    logprobs: bool = False
    max_tokens: int = 64
    seed: int = 0
    name = "judge_agreement"

    def check(self, dev: pl.DataFrame) -> np.ndarray:
        if self.label not in dev.columns:
            raise InputError(f"dev set has no label column '{self.label}' (columns: {dev.columns}); "
                             f"a judge's fitness is its agreement with labels")
        y = dev[self.label]
        if y.null_count():
            raise InputError(f"dev set: {y.null_count()} of {dev.height} rows have no '{self.label}' label")
        try:
            y = y.cast(pl.Float64).to_numpy()
        except pl.exceptions.InvalidOperationError:
            raise InputError(f"dev set: label column '{self.label}' must be numbers or booleans") from None
        metric = M.pick(self.metric, y)
        if len(np.unique(y)) < 2:
            raise InputError(f"dev set: every '{self.label}' label is {y[0]}; agreement needs at least two values")
        if metric == "auroc" and len(np.unique(y)) != 2:
            raise InputError(f"dev set: AUROC needs two label values, '{self.label}' has {len(np.unique(y))}; "
                             f"use metric spearman")
        return y

    def score(self, labels: np.ndarray, preds: np.ndarray) -> float:
        mid = (self.scale[0] + self.scale[1]) / 2
        return M.score(M.pick(self.metric, labels), labels, np.where(np.isnan(preds), mid, preds))

    def evaluate(self, cands: list[Candidate], dev: pl.DataFrame, llm) -> list[Eval]:
        from dataforge.score.judge import Judge

        y = self.check(dev)
        doc = {"scale": {"min": self.scale[0], "max": self.scale[1]}, "logprobs": self.logprobs,
               "prompts": [{"name": c.id, "system": c.system, "user": c.user} for c in cands]}
        judge = Judge(aspect="search", llm=llm, max_tokens=self.max_tokens, seed=self.seed, doc=doc)
        raw = judge.raw_scores(dev)  # (rows, candidates)
        out = []
        for j in range(len(cands)):
            p = raw[:, j]
            out.append(Eval(self.score(y, p), p, {"answered": float(np.mean(~np.isnan(p)))}))
        return out

    def describe(self) -> dict:
        return {"fitness": self.name, "metric": self.metric, "label": self.label, "scale": list(self.scale)}


@dataclass
class GeneratorFitness(Fitness):
    produces: str = "output"  # the column the reply fills: output (respond) or instruction (rewrite, evol)
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    reject_weight: float = 0.5
    sampling: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)  # extra template variables (e.g. rewrite's style)
    seed: int = 0
    filters: Filters = field(default_factory=Filters)  # the operator's own filters
    prompt_instructions: int = 8  # self_instruct: dev instructions shown per request
    name = "generator_scores"

    def __post_init__(self):
        if not self.weights or any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ConfigError(f"prompt search: fitness weights must be non-negative with a positive sum, got {self.weights}")
        self._scorers = {col: scorer_for(col) for col in self.weights}

    def evaluate(self, cands: list[Candidate], dev: pl.DataFrame, llm) -> list[Eval]:
        from dataforge import rulefiles
        from dataforge.generate import prompts as P

        base = canonical(dev)
        rows = base.to_dicts()
        if self.filters.operator == "self_instruct" and "instructions" not in {*base.columns, *self.constants}:
            # as the operator does: each request lists seed instructions to continue (here: the
            # dev instructions, a window starting at the row, so every row asks differently)
            pool = [r["instruction"] for r in rows if r["instruction"].strip()]
            k = min(self.prompt_instructions, len(pool))
            for i, r in enumerate(rows):
                r["instructions"] = [pool[(i + j) % len(pool)] for j in range(k)]
        chats = []
        for c in cands:
            for r in rows:
                msg = [{"role": "system", "content": c.system}] if c.system else []
                # (not prompts.render: a template variable may be called `text`, as rewrite's is)
                text = rulefiles.template(c.user, True).render(**{**r, **self.constants}).strip()
                chats.append(msg + [{"role": "user", "content": text}])
        sp = P.sampling({"sampling": self.sampling}, {"seed": self.seed}, n=1)
        res = llm.chat(chats, sp) if chats else []
        out, n = [], len(rows)
        for j in range(len(cands)):
            replies = [r.completions[0] if r.ok and r.completions else None for r in res[j * n:(j + 1) * n]]
            made, reasons = self.filters.apply(base, replies)
            out.append(self._score(made, reasons))
        return out

    def _score(self, made: pl.DataFrame, reasons: list[str | None]) -> Eval:
        """made: the kept rows; reasons: one per candidate (None: kept)."""
        n = len(reasons)
        reject_rate = float(sum(r is not None for r in reasons) / n) if n else 1.0
        detail: dict = {"rejection_rate": reject_rate}
        why: dict[str, int] = {}
        for r in reasons:
            if r is not None:
                key = r.split(":")[0]
                why[key] = why.get(key, 0) + 1
        if why:
            detail["rejected"] = why
        if made.height == 0:  # every candidate rejected: every mean is 0
            detail |= {col: 0.0 for col in self.weights}
            return Eval(-self.reject_weight * reject_rate, None, detail)
        total = 0.0
        for col, w in self.weights.items():
            vals = self._scorers[col](made).fill_null(0.0).fill_nan(0.0).to_numpy()
            mean = float(vals.sum() / n)  # rejected candidates count as 0
            detail[col] = mean
            total += w * mean
        fit = total / sum(self.weights.values()) - self.reject_weight * reject_rate
        return Eval(fit, None, detail)

    def describe(self) -> dict:
        return {"fitness": self.name, "produces": self.produces, "weights": self.weights,
                "reject_weight": self.reject_weight, "filters": self.filters.operator}


@dataclass
class CallableFitness(Fitness):
    fn: Callable
    calls: int = 0  # LLM calls one evaluation makes, for the budget (0: unknown, counted as made)
    name = "callable"

    def calls_per_candidate(self, dev: pl.DataFrame) -> int:
        return self.calls

    def evaluate(self, cands: list[Candidate], dev: pl.DataFrame, llm) -> list[Eval]:
        out = []
        for c in cands:
            v = float(self.fn(c, dev, llm))
            out.append(Eval(v if np.isfinite(v) else float("-inf")))
        return out

    def describe(self) -> dict:
        return {"fitness": self.name, "callable": getattr(self.fn, "__qualname__", repr(self.fn))}


def canonical(dev: pl.DataFrame) -> pl.DataFrame:
    """Dev rows with the canonical text columns the score operators read ("" / {} when absent)."""
    defaults = {"instruction": "", "input": "", "output": "", "task": "open_qa", "source": "dev",
                "lang": "en", "meta": "{}", "id": None}
    cols = [pl.col(c).cast(pl.Utf8).fill_null(v if v is not None else "") if c in dev.columns else pl.lit(v).alias(c)
            for c, v in defaults.items() if v is not None]
    out = dev.with_columns(cols)
    if "id" not in out.columns:
        out = out.with_columns(pl.int_range(pl.len()).cast(pl.Utf8).alias("id"))
    return out


def scorer_for(column: str) -> Callable[[pl.DataFrame], pl.Series]:
    """A function rows -> the score column, from the registered operator of the same name."""
    from dataforge.ops import base

    ops = base.load_all()
    if column not in ops:
        have = sorted(n for n in ops if n.startswith("score_"))
        raise ConfigError(f"prompt search: no operator writes '{column}' (score operators: {have})")
    op = base.create(column, {})
    if column not in op.columns_out():
        raise ConfigError(f"prompt search: operator '{column}' does not write a column '{column}'")
    state = {"ready": False}

    def run(df: pl.DataFrame) -> pl.Series:
        if not state["ready"]:
            op.setup()
            state["ready"] = True
        res = op.run(df.lazy()) if isinstance(op, base.GlobalOp) else op.map(df)
        return res[column].cast(pl.Float64)

    return run
