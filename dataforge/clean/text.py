"""Text normalisation for duplicate keys: the same sentence typed twice must hash the same."""
from __future__ import annotations

import polars as pl

# Unicode punctuation and symbols; removed from dedup keys so "Hi!" == "hi".
PUNCT = r"[\p{P}\p{S}]+"


def norm_expr(e: pl.Expr, *, punctuation: bool = True) -> pl.Expr:
    """NFKC, case-fold, optionally drop punctuation, collapse whitespace."""
    e = e.fill_null("").str.normalize("NFKC").str.to_lowercase()
    if punctuation:
        e = e.str.replace_all(PUNCT, " ")
    return e.str.replace_all(r"\s+", " ").str.strip_chars()


def joined(fields: list[str], *, normalise: bool = False) -> pl.Expr:
    """Fields joined with a unit separator so ("ab", "c") and ("a", "bc") differ."""
    parts = [norm_expr(pl.col(f)) if normalise else pl.col(f).fill_null("") for f in fields]
    return pl.concat_str(parts, separator="\x1f")


def map_matching(s: pl.Series, pattern: str, fn) -> pl.Series:
    """`fn` (str -> str) on the rows of `s` that match `pattern` (a Polars regex); the rest, and
    every row when none matches, stay in Polars untouched. For repairs that need Python
    (entities, mis-decoded bytes) but that few rows need."""
    mask = s.str.contains(pattern).fill_null(False)
    if not mask.any():
        return s
    idx = mask.arg_true()
    fixed = pl.Series([fn(t) for t in s.gather(idx).to_list()], dtype=pl.Utf8)
    return s.clone().scatter(idx, fixed)
