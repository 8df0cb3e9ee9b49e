"""Rule-based score models as Polars expressions (vectorised; no per-row Python).

Each model starts at 1.0 and multiplies a factor for every check that fires, so the
checks are independent and each factor reads as "how much this problem costs".
Patterns and factors live in rules/score/*.yaml.
"""
from __future__ import annotations

import functools

import polars as pl

from dataforge.score import complexity
from dataforge.score.rules import load_words, load_yaml
from dataforge.words import WORD_RE

QUALITY = "score/quality.yaml"
COMPLEXITY = complexity.COMPLEXITY
VERBS = "score/verbs.txt"


def _factor(cond: pl.Expr, x: float) -> pl.Expr:
    return pl.when(cond).then(pl.lit(float(x))).otherwise(pl.lit(1.0))


def _product(factors: list[pl.Expr]) -> pl.Expr:
    out = pl.lit(1.0)
    for f in factors:
        out = out * f
    return out.clip(0.0, 1.0)


def _words(e: pl.Expr) -> pl.Expr:
    return e.str.count_matches(WORD_RE)  # (scripts without spaces: dataforge/words.py)


def _empty(e: pl.Expr) -> pl.Expr:
    return e.fill_null("").str.strip_chars().str.len_chars() == 0


# -- quality of the response --------------------------------------------------------------

def repetition_share(e: pl.Expr, n: int) -> pl.Expr:
    """Share of word n-grams that repeat an earlier one (0 = none repeated)."""
    toks = e.fill_null("").str.to_lowercase().str.extract_all(r"\w+")
    el = pl.element()
    gram = el
    for k in range(1, n):
        gram = gram + pl.lit(" ") + el.shift(-k)
    grams = toks.list.eval(gram.drop_nulls())
    total = grams.list.len()
    return pl.when(total > 0).then(1.0 - grams.list.n_unique() / total).otherwise(0.0)


def refusal_check(rc: dict) -> pl.Expr:
    """A refusal or disclaimer phrase in the assistant's own words: not inside quoted speech
    or a dialogue line, and not when the instruction asks for an apology or a decline."""
    out = pl.col("output").fill_null("")
    speech = rc.get("speech") or (spared_as(rc).get("speech") if rc.get("spared_as") else None)
    if speech:
        out = out.str.replace_all(speech, " ")
    hit = out.str.contains(rc["pattern"])
    if rc.get("unless_instruction"):
        asked = pl.col("instruction").fill_null("").str.contains(rc["unless_instruction"])
        hit = hit & ~asked
    if rc.get("unless_output"):  # the answer goes on to the way the user can get it
        hit = hit & ~out.str.contains(rc["unless_output"])
    if rc.get("unless_input"):  # (callers without an input column pass an empty one)
        hit = hit & ~pl.col("input").fill_null("").str.contains(rc["unless_input"])
    if rc.get("unless_instruction_file"):  # a request whose right answer is a refusal
        pats = harmful_patterns(rc["unless_instruction_file"])
        if pats:
            hit = hit & ~pl.col("instruction").fill_null("").str.contains("(?i)" + pats)
    return hit


def spared_as(rc: dict):
    """The default filter rule named by `spared_as`: its quoted speech, and what spares its hits
    (score/quality.py reads those on the rows this check fires on), spare them here too."""
    from dataforge.clean import rules as R

    return next(r for r in R.load("default")[0] if r.name == rc["spared_as"])


@functools.lru_cache(maxsize=4)
def harmful_patterns(rel: str) -> str:
    """The regexes of a rules file (one a line, `#` comments) as one alternation."""
    from dataforge.clean import rules as R

    return R.pattern_file(rel)[1]


def quality_checks(cfg: dict | None = None) -> dict[str, pl.Expr]:
    """Response-only checks (the detector rules of dataforge/score/quality.py come on top)."""
    c = cfg or load_yaml(QUALITY)
    out = pl.col("output").fill_null("")
    stripped = out.str.strip_chars()
    n = _words(out)
    tr = c["truncation"]
    lf = c["length_fit"]
    by_task = lf.get("by_task") or {}
    task = pl.col("task").fill_null("")
    lo = task.replace_strict({k: v["min"] for k, v in by_task.items()}, default=lf["default"]["min"],
                             return_dtype=pl.Int64)
    hi = task.replace_strict({k: v["max"] for k, v in by_task.items()}, default=lf["default"]["max"],
                             return_dtype=pl.Int64)
    lines = stripped.str.split("\n").list.eval(
        pl.element().str.strip_chars().filter(pl.element().str.len_chars() > 20))
    # generators record finish_reason in meta; "length" means the model was cut off
    finish_length = pl.col("meta").fill_null("").str.contains(r'"finish_reason"\s*:\s*"length"')
    return {
        "refusal": refusal_check(c["refusal"]),
        "truncated": finish_length,
        # (an ending the request asks for: a cliffhanger, "to be continued", a trailing-off line)
        "cut_marker": stripped.str.contains(tr["marker_pattern"]) &
        ~pl.col("instruction").fill_null("").str.contains("(?i)" + tr.get("marker_asked", "$^")) &
        ~stripped.str.contains(tr.get("marker_spared") or "$^"),
        "duplicate_lines": lines.list.n_unique() < lines.list.len(),
        "too_short": (n < lo) & ~pl.col("instruction").fill_null("").str.contains(lf.get("single_item") or "$^"),
        "too_long": n > hi,
    }


def quality_parts(cfg: dict | None = None) -> dict[str, pl.Expr]:
    """The response-only factors by name (1.0 where a check does not apply)."""
    c = cfg or load_yaml(QUALITY)
    chk = quality_checks(c)
    rep = c["repetition"]
    share = repetition_share(pl.col("output"), int(rep["ngram"]))
    # above the threshold the factor falls linearly from 1 to `floor` at share 1.0
    over = ((share - rep["threshold"]) / (1.0 - rep["threshold"])).clip(0.0, 1.0)
    rep_factor = 1.0 - over * (1.0 - rep["floor"])
    if rep.get("asked"):
        rep_factor = pl.when(pl.col("instruction").fill_null("").str.contains("(?i)" + rep["asked"])) \
            .then(pl.lit(1.0)).otherwise(rep_factor)
    lf = c["length_fit"]
    return {
        "refusal": _factor(chk["refusal"], c["refusal"]["factor"]),
        "truncated": _factor(chk["truncated"], c["truncation"]["factor"]),
        "cut_marker": _factor(chk["cut_marker"] & ~chk["truncated"], c["truncation"]["marker_factor"]),
        "duplicate_lines": _factor(chk["duplicate_lines"], rep["dup_line_factor"]),
        "too_short": _factor(chk["too_short"], lf["too_short"]),
        "too_long": _factor(chk["too_long"], lf["too_long"]),
        "repetition": rep_factor,
    }


def quality_expr(cfg: dict | None = None) -> pl.Expr:
    return _product(list(quality_parts(cfg).values()))


# -- complexity of the instruction ----------------------------------------------------------

def complexity_expr(cfg: dict | None = None) -> pl.Expr:
    """0..1 from the demands of the request (dataforge/score/complexity.py)."""
    return complexity.expr(cfg)
