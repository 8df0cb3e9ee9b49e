"""LLM-as-judge with prompt ensembles: rules/prompts/judge_<aspect>.yaml -> a score in [0, 1].

Each prompt of the ensemble is rendered (sandboxed Jinja) for every row and sent in one
batch; replies are JSON {"score": k} (structured output through `Sampling(json_schema=...)`
where the backend supports it, a parsed number otherwise). Prompts whose `logprobs: true`
(complexity) use the expected value of the score under the first token's probabilities
(DEITA). The ensemble is aggregated by mean or majority vote, or with per-prompt weights
(weighted mean / weighted vote; `dataforge prompt-search` fits them and stores them in the
prompt file's `ensemble:` section), and mapped to [0, 1].
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


def aggregate(values: np.ndarray, how: str, weights: np.ndarray | None = None) -> np.ndarray:
    """(rows, prompts) raw scores with nan for failures -> one score per row (nan if all failed).

    `weighted` (weighted mean) and `weighted_majority` (weighted vote) use `weights`, one per
    prompt (fitted by `dataforge prompt-search`); a failed prompt's weight is left out of its row."""
    if how in ("weighted", "weighted_majority"):
        return aggregate_weighted(values, weights, vote=how == "weighted_majority")
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


def aggregate_weighted(values: np.ndarray, weights: np.ndarray | None, vote: bool = False) -> np.ndarray:
    """Weighted mean (or weighted vote on rounded scores) over the prompts that answered."""
    w = np.ones(values.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (values.shape[1],) or (w < 0).any() or not np.isfinite(w).all():
        raise ConfigError(f"judge ensemble: need one non-negative weight per prompt, got {list(w)}")
    ok = ~np.isnan(values)
    wm = np.where(ok, w[None, :], 0.0)
    total = wm.sum(axis=1)
    if not vote:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, (np.nan_to_num(values) * wm).sum(axis=1) / np.where(total > 0, total, 1), np.nan)
    out = np.full(values.shape[0], np.nan)
    for i in range(values.shape[0]):
        if total[i] <= 0:
            continue
        r = np.rint(values[i, ok[i]])
        vals = np.unique(r)
        mass = np.array([wm[i, ok[i]][r == v].sum() for v in vals])
        out[i] = float(np.median(vals[np.isclose(mass, mass.max())]))  # a tie: the median of the tied
    return out


def ensemble_weights(doc: dict, names: list[str], where: str) -> np.ndarray:
    """The `ensemble.weights` of a prompt file (written by prompt-search), in prompt order."""
    table = (doc.get("ensemble") or {}).get("weights")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: aggregate 'weighted' needs an `ensemble: {{weights: {{name: w}}}}` "
                          f"section (dataforge prompt-search writes one)")
    missing = [n for n in names if n not in table]
    if missing:
        raise ConfigError(f"{where}: ensemble.weights has no weight for prompt(s) {missing}")
    return np.array([float(table[n]) for n in names], dtype=np.float64)


@dataclass
class Judge:
    aspect: str
    llm: object
    prompts: list[str] | None = None  # names from the file; None = all
    how: str = "mean"  # "mean" | "majority"
    max_tokens: int = 64  # a score and a short reason; more only costs time
    seed: int = 0
    doc: dict | None = None  # a prompt document given directly (prompt search), instead of a file
    file: str | None = None  # another prompt file than rules/prompts/judge_<aspect>.yaml
    weights: list[float] | None = None  # per prompt, for weighted aggregation; default: the file's

    def __post_init__(self):
        if self.doc is not None:
            doc, where = self.doc, f"judge '{self.aspect}' (prompts given in code)"
        elif self.file:
            from dataforge import rulefiles

            where = rulefiles.resolve(self.file, what="judge prompt file", prefer="prompts")
            doc = rulefiles.load_yaml(where)
        else:
            where, doc = rules_path(prompt_file(self.aspect)), load_yaml(prompt_file(self.aspect))
        self.lo, self.hi = int(doc["scale"]["min"]), int(doc["scale"]["max"])
        self.use_logprobs = bool(doc.get("logprobs", False))
        items = doc.get("prompts") or []
        if self.prompts:
            unknown = sorted(set(self.prompts) - {p["name"] for p in items})
            if unknown:
                raise ConfigError(f"judge '{self.aspect}': unknown prompt(s) {unknown} in {where}")
            items = [p for p in items if p["name"] in self.prompts]
        if not items:
            raise ConfigError(f"judge '{self.aspect}': no prompts")
        from dataforge import rulefiles

        self._templates = [(p["name"], p.get("system"), rulefiles.template(p["user"])) for p in items]
        self._weights = None
        if self.how in ("weighted", "weighted_majority"):
            names = [p["name"] for p in items]
            self._weights = (np.asarray(self.weights, dtype=np.float64) if self.weights is not None
                             else ensemble_weights(doc, names, str(where)))

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
        agg = aggregate(self.raw_scores(df), self.how, self._weights)
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
