"""Verifiable constraints of an instruction that the answer breaks (IFEval's idea, checked by
rules): a word limit, one sentence, one word, yes or no only, JSON, all capital letters.

Each check reads the instruction for an explicit constraint (rules/score/quality.yaml,
`constraints`) and the answer for the plain evidence that it was not kept, with a margin: an
answer of 23 words under "no more than 20 words" is kept, one of 60 is not. Polars
expressions, no model; score_quality multiplies by `factor` when any check fires.
"""
from __future__ import annotations

import polars as pl

from dataforge.score import numbers
from dataforge.words import WORD_RE


def _fence_stripped(out: pl.Expr) -> pl.Expr:
    return out.str.strip_chars().str.replace(r"(?s)^```[\w-]*\s*\n(.*?)\n?```$", "${1}").str.strip_chars()


def checks(cfg: dict) -> dict[str, pl.Expr]:
    """name -> True where the instruction sets the constraint and the answer breaks it."""
    ins = pl.col("instruction").fill_null("")
    out = pl.col("output").fill_null("")
    words = out.str.count_matches(WORD_RE)
    res: dict[str, pl.Expr] = {}
    wl = cfg.get("word_limit")
    if wl:  # "no more than 20 words", "in 50 words or fewer", "under 100 words"
        n = numbers.value(ins.str.extract(numbers.fill(wl["request"]), 1))
        res["word_limit"] = (n.is_not_null() & (words > float(wl["margin"]) * n + float(wl.get("slack", 0)))).fill_null(False)
    one = cfg.get("one_sentence")
    if one:  # "in one sentence", "a single sentence": a second sentence after the first
        # a sentence starts after a full stop and a space, with a capital
        sentences = out.str.strip_chars().str.count_matches(r"[.!?][\"')\]]*\s+[\"'(\[]?\p{Lu}") + 1
        res["one_sentence"] = ins.str.contains(one["request"]) & (sentences > int(one.get("max_sentences", 1))) & \
            ~ins.str.contains(one.get("unless") or "$^")
    ow = cfg.get("one_word")
    if ow:  # "answer with one word", "yes or no only"
        res["one_word"] = ins.str.contains(ow["request"]) & (words > int(ow["max_words"])) & \
            ~ins.str.contains(ow.get("unless") or "$^")
    js = cfg.get("json")
    if js:  # "as a JSON array", "in JSON format": the answer is no JSON value
        body = _fence_stripped(out)
        res["json"] = ins.str.contains(js["request"]) & ~body.str.contains(r"^[\[{]") & ~ins.str.contains(js["unless"])
    caps = cfg.get("all_caps")
    if caps:  # "in all capital letters": lower-case letters left
        lower = out.str.count_matches(r"\p{Ll}")
        letters = out.str.count_matches(r"\p{L}").clip(lower_bound=1)
        res["all_caps"] = ins.str.contains(caps["request"]) & (lower > float(caps["max_lower_share"]) * letters)
    return res


def broken(cfg: dict | None) -> pl.Expr:
    """True where any constraint of `cfg` is broken."""
    if not cfg:
        return pl.lit(False)
    c = checks(cfg)
    return pl.any_horizontal(list(c.values())) if c else pl.lit(False)
