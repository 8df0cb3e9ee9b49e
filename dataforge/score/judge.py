"""LLM-as-judge with prompt ensembles: rules/prompts/judge_<aspect>.yaml -> a score in [0, 1].

Each prompt of the ensemble is rendered (sandboxed Jinja) for every row and sent in one
batch; replies are JSON {"score": k} (structured output through `Sampling(json_schema=...)`
where the backend supports it, a parsed number otherwise). Prompts whose `logprobs: true`
(complexity) use the expected value of the score under the first token's probabilities
(DEITA). The ensemble is aggregated by mean or majority vote and mapped to [0, 1].
Calls go through `dataforge.llm.for_op.llm_for`, whose completion cache (OUT/cache/llm/)
makes a rerun or resume pay nothing for judgements already made.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from dataforge.errors import ConfigError
from dataforge.score.rules import load_yaml, rules_path

_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def score_schema(lo: int, hi: int) -> dict:
    return {"type": "object",
            "properties": {"score": {"type": "integer", "minimum": lo, "maximum": hi},
                           "reason": {"type": "string"}},
            "required": ["score"]}


def prompt_file(aspect: str) -> str:
    return f"prompts/judge_{aspect}.yaml"


def parse_score(text: str, lo: float, hi: float) -> float | None:
    """The score in a reply: the JSON `score` field, else the first number in range."""
    text = (text or "").strip()
    try:
        obj = json.loads(text[text.index("{"): text.rindex("}") + 1]) if "{" in text else None
    except (ValueError, json.JSONDecodeError):
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("score"), (int, float)) and not isinstance(obj["score"], bool):
        v = float(obj["score"])
        return v if lo <= v <= hi else None
    for m in _NUM.finditer(text):
        v = float(m.group())
        if lo <= v <= hi:
            return v
    return None


def expected_from_logprobs(first: dict[str, float] | None, lo: int, hi: int) -> float | None:
    """DEITA: sum_k k * p(k), p renormalised over the tokens "lo".."hi" among the top-k."""
    if not first:
        return None
    probs: dict[int, float] = {}
    for tok, lp in first.items():
        t = tok.strip()
        if t.isdigit() and lo <= int(t) <= hi:
            probs[int(t)] = probs.get(int(t), 0.0) + math.exp(lp)
    total = sum(probs.values())
    if total <= 0:
        return None
    return sum(k * p for k, p in probs.items()) / total


def aggregate(values: np.ndarray, how: str) -> np.ndarray:
    """(rows, prompts) raw scores with nan for failures -> one score per row (nan if all failed)."""
    out = np.full(values.shape[0], np.nan)
    for i, row in enumerate(values):
        ok = row[~np.isnan(row)]
        if not len(ok):
            continue
        if how == "mean":
            out[i] = ok.mean()
        else:  # majority vote on rounded scores; a tie goes to the median of the tied values
            r = np.rint(ok)
            vals, counts = np.unique(r, return_counts=True)
            top = vals[counts == counts.max()]
            out[i] = float(np.median(top))
    return out


@dataclass
class Judge:
    aspect: str
    llm: object
    prompts: list[str] | None = None  # names from the file; None = all
    how: str = "mean"  # "mean" | "majority"
    max_tokens: int = 64  # a score and a short reason; more only costs time
    seed: int = 0
    file: str | None = None  # the prompt file; None: rules/prompts/judge_<aspect>.yaml

    def __post_init__(self):
        doc = load_yaml(self.file or prompt_file(self.aspect))
        self.lo, self.hi = int(doc["scale"]["min"]), int(doc["scale"]["max"])
        self.use_logprobs = bool(doc.get("logprobs", False))
        items = doc.get("prompts") or []
        if self.prompts:
            unknown = sorted(set(self.prompts) - {p["name"] for p in items})
            if unknown:
                raise ConfigError(f"judge '{self.aspect}': unknown prompt(s) {unknown} in "
                                  f"{rules_path(self.file or prompt_file(self.aspect))}")
            items = [p for p in items if p["name"] in self.prompts]
        if not items:
            raise ConfigError(f"judge '{self.aspect}': no prompts")
        from dataforge import rulefiles

        self._templates = [(p["name"], p.get("system"), rulefiles.template(p["user"])) for p in items]

    def sampling(self):
        from dataforge.llm import Sampling

        if self.use_logprobs:
            return Sampling(n=1, temperature=0.0, max_tokens=4, logprobs=20, seed=self.seed)
        return Sampling(n=1, temperature=0.0, max_tokens=self.max_tokens, seed=self.seed,
                        json_schema=score_schema(self.lo, self.hi))

    def raw_scores(self, df: pl.DataFrame) -> np.ndarray:
        """(rows, prompts) scores on the prompt's own scale; nan where the judge failed."""
        rows = df.select([pl.col(c).fill_null("") if c in df.columns else pl.lit("").alias(c)
                          for c in ("instruction", "input", "output", "task")]).to_dicts()
        chats = []
        for _name, system, tpl in self._templates:
            for row in rows:
                chats.append(([{"role": "system", "content": system}] if system else [])
                             + [{"role": "user", "content": tpl.render(**row).strip()}])
        results = self.llm.chat(chats, self.sampling()) if chats else []
        vals = np.array([np.nan if (v := self._value(r)) is None else v for r in results], dtype=np.float64)
        return vals.reshape(len(self._templates), len(rows)).T

    def _value(self, res) -> float | None:
        if not res.ok or not res.completions:
            return None
        c = res.completions[0]
        if self.use_logprobs and c.logprobs:
            v = expected_from_logprobs(c.logprobs[0], self.lo, self.hi)
            if v is not None:
                return v
        return parse_score(c.text, self.lo, self.hi)

    def scores(self, df: pl.DataFrame) -> pl.Series:
        """Aggregated ensemble score mapped to [0, 1]; null where every prompt failed."""
        agg = aggregate(self.raw_scores(df), self.how)
        unit = (agg - self.lo) / (self.hi - self.lo)
        return pl.Series(f"score_judge_{self.aspect}", unit, dtype=pl.Float64).fill_nan(None)


def build(op, aspect: str, prompts: list[str] | None, how: str, max_tokens: int = 64,
          file: str | None = None) -> Judge:
    """The judge of an operator, on the operator's `llm` or the run's --llm (cached backend)."""
    from dataforge.llm.for_op import llm_for

    return Judge(aspect=aspect, llm=llm_for(op), prompts=prompts or None, how=how, seed=op.ctx.seed,
                 max_tokens=max_tokens, file=file)


def blend(heuristic: pl.Series, judged: pl.Series | None, weight: float) -> pl.Series:
    """(1 - w) * heuristic + w * judge; the heuristic alone where the judge gave nothing."""
    if judged is None:
        return heuristic
    h = heuristic.cast(pl.Float64)
    mixed = (1.0 - weight) * h + weight * judged.cast(pl.Float64)
    return pl.select(pl.coalesce(pl.lit(mixed), pl.lit(h))).to_series().alias(heuristic.name)
