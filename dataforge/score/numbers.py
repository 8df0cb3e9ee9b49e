"""Numbers a request spells out ("a thousand", "two hundred", "fifty", "twenty-five") as
values, for the checks that read a count of words from an instruction (under_length, the word
limit). The phrases come from rules/score/number_words.yaml; a request's number is one regex
alternative, `NUMBER`, and `value` turns what it matched into an integer."""
from __future__ import annotations

import functools
import polars as pl

from dataforge.score.rules import load_yaml

FILE = "score/number_words.yaml"
DIGITS = r"\d{1,5}"


@functools.lru_cache(maxsize=1)
def phrases() -> dict[str, int]:
    """Every spelled-out number the file's words make, from 1 to 9,999, normalised as
    `key` does: "twenty five", "two hundred", "a thousand", "fifteen hundred"."""
    w = load_yaml(FILE)
    units, teens, tens, scales = w["units"], w["teens"], w["tens"], w["scales"]
    below_100 = dict(units) | dict(teens) | dict(tens)
    for t, tv in tens.items():
        for u, uv in units.items():
            below_100[f"{t} {u}"] = tv + uv
    out = dict(below_100)
    for s, sv in scales.items():
        for m, mv in ({"a": 1} | dict(units) | (dict(teens) if sv == 100 else {})).items():
            out[f"{m} {s}"] = mv * sv
            if sv == 100:
                for r, rv in below_100.items():
                    out[f"{m} {s} {r}"] = mv * sv + rv
                    out[f"{m} {s} and {r}"] = mv * sv + rv
    return out


def key(e: pl.Expr) -> pl.Expr:
    """A matched phrase as `phrases` spells it: lower case, hyphens and runs of space as one space."""
    return e.str.to_lowercase().str.replace_all(r"[\s\-]+", " ").str.strip_chars()


@functools.lru_cache(maxsize=4)
def pattern(least: int = 1) -> str:
    """A regex alternative (no capture group) for digits or a spelled-out number, built from
    its parts (one alternation of 4,000 phrases is past the regex engine's size limit); with
    `least` 10, a lone unit word ("one", "five") is not one."""
    w = load_yaml(FILE)
    alt = lambda words: "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"  # noqa: E731
    sep = r"[\s\-]+"
    units, teens, tens = alt(w["units"]), alt(w["teens"]), alt(w["tens"])
    below_100 = rf"(?:{tens}(?:{sep}{units})?|{teens}|{units})"
    scaled = rf"(?:a|{units}|{teens}){sep}{alt(w['scales'])}(?:{sep}(?:and{sep})?{below_100})?"
    small = rf"(?:{tens}(?:{sep}{units})?|{teens})" if least >= 10 else below_100
    return rf"(?:{DIGITS}|(?:{scaled}|{small})\b)"


def value(matched: pl.Expr) -> pl.Expr:
    """The integer a matched number stands for (null where none matched)."""
    m = key(matched)
    return pl.coalesce(m.cast(pl.Int64, strict=False),
                       m.replace_strict(phrases(), default=None, return_dtype=pl.Int64))


def fill(regex: str) -> str:
    """`regex` with each `{N}` replaced by the number alternative, and each `{N10}` by the one
    whose spelled-out numbers are 10 or more ("in one word" is the one-word check's, with its
    exceptions). The caller's own group around it captures the number."""
    return regex.replace("{N10}", pattern(10)).replace("{N}", pattern())
