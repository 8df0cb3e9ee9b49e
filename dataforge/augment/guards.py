"""Guards every augmenter runs on its new rows: exact copy, semantic drift, lost numbers,
changed quoted text, scrambled word order.

Each returns a reason per row (null keeps the row), in the "rule: details" form the engine
counts by rule: "copy: identical after normalisation", "drift: cosine 0.71 < 0.80",
"constraint: lost number 300".
"""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.words import NUMBER


def normalised(e: pl.Expr) -> pl.Expr:
    """Case, punctuation and spacing folded away: what a reader would call 'the same text'."""
    return (e.fill_null("").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ")
            .str.strip_chars())


def copy_reason(original: pl.Expr, new: pl.Expr) -> pl.Expr:
    return pl.when(normalised(original) == normalised(new)) \
        .then(pl.lit("copy: identical after normalisation")).otherwise(None)


def fixed2(e: pl.Expr) -> pl.Expr:
    """Format a float with two decimals, vectorised ('0.71', '-0.05', '1.00')."""
    cents = (e * 100).round(0).cast(pl.Int64)
    mag = cents.abs()
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, (mag // 100).cast(pl.Utf8), pl.lit("."),
                          (mag % 100).cast(pl.Utf8).str.zfill(2)])


def cosines(embedder, original: list[str], new: list[str]) -> np.ndarray:
    """Row-wise cosine of original and new text; the embedder caches every text it has seen."""
    if not original:
        return np.zeros(0, dtype=np.float32)
    a = embedder.encode(original)
    b = embedder.encode(new)
    return np.einsum("ij,ij->i", a, b)


def drift_reason(cos: pl.Expr, threshold: float) -> pl.Expr:
    msg = pl.concat_str([pl.lit("drift: cosine "), fixed2(cos), pl.lit(f" < {threshold:.2f}")])
    return pl.when(cos < threshold).then(msg).otherwise(None)


def lost_number_reason(df: pl.DataFrame, original: str, new: str) -> pl.Series:
    """'constraint: lost number N' where a number of the original is missing from the new text.

    Numbers carry constraints ("in 300 words", "list 5 items"); a paraphrase must keep them.
    """
    return _missing_reason(df, new, pl.col(original).fill_null("").str.extract_all(NUMBER),
                           "constraint: lost number ", "")


def _missing_reason(df: pl.DataFrame, new: str, parts: pl.Expr, before: str,
                    after: str, show: int | None = None) -> pl.Series:
    """`before` + the first of `parts` (a list per row, taken from the original) that is not in
    the new text word for word (its first `show` characters) + `after`; null where every part
    is there."""
    idx = df.select(pl.int_range(pl.len()).alias("_i"), parts.alias("_m"), pl.col(new).fill_null("").alias("_t"))
    missing = (idx.explode("_m").drop_nulls("_m").filter(pl.col("_m") != "")
               .filter(~pl.col("_t").str.contains(pl.col("_m"), literal=True))
               .group_by("_i", maintain_order=True).agg(pl.col("_m").first()))
    out = idx.select("_i").join(missing, on="_i", how="left", maintain_order="left")
    return out.select(pl.when(pl.col("_m").is_not_null())
                      .then(pl.concat_str([pl.lit(before), pl.col("_m").str.slice(0, show), pl.lit(after)]))
                      .otherwise(None).alias("missing")).to_series()


# Quoted text ("...", “...”, '...' standing apart from words) and the material after a colon
# that ends a request ("Translate into French: Good morning") are what the request works on:
# the output answers exactly that text, so a rewrite of the request must leave it as it is.
QUOTED = (r"\"[^\"\n]+\"|“[^”\n]+”|‘[^’\n]+’|(?:^|[\s(\[:])'[^'\n]+'(?:$|[\s.,;:!?)\]])"
          r"|:[ \t]+[^\n]+$")


def _material(e: pl.Expr) -> pl.Expr:
    """The quoted spans and colon material of each text, trimmed of the marks around them."""
    return e.fill_null("").str.extract_all(QUOTED).list.eval(
        pl.element().str.strip_chars(" \t([:.,;!?)]").str.strip_chars("\"“”‘’'").str.strip_chars())


def changed_material_reason(df: pl.DataFrame, original: str, new: str) -> pl.Series:
    """'constraint: changed quoted text X' where quoted or colon material of the original is
    not in the new text word for word."""
    return _missing_reason(df, new, _material(pl.col(original)),
                           "constraint: changed quoted text '", "'", show=60)


def garbled_reason(df: pl.DataFrame, original: str, new: str) -> pl.Series:
    """'constraint: scrambled word order' where the new text has more implausible word
    transitions than its original (dataforge/clean/garble.py; English word classes): a swap
    or an insertion that the `garbled` rule would read as scrambled text; 'constraint:
    dangling last word' where it now ends on a word no finished sentence ends on ("... its
    strengths and", "... an analysis of the"), as a deleted last word leaves it."""
    from dataforge.clean.garble import garble_stats
    from dataforge.clean.rules import LAST_WORD_RE, dangling_words

    before = garble_stats(df[original])["bad"]
    after = garble_stats(df[new])["bad"]
    words = dangling_words()

    def dangling(c: str) -> pl.Expr:
        return pl.col(c).fill_null("").str.strip_chars().str.extract(LAST_WORD_RE, 1).str.to_lowercase() \
            .is_in(words).fill_null(False)

    return df.select(
        pl.when(pl.lit(after) > pl.lit(before)).then(pl.format(
            "constraint: scrambled word order ({} implausible word transitions, the original {})",
            pl.lit(after), pl.lit(before)))
        .when(dangling(new) & ~dangling(original)).then(pl.format(
            "constraint: dangling last word '{}'", pl.col(new).str.strip_chars().str.extract(LAST_WORD_RE, 1)))
        .otherwise(None).alias("scrambled")).to_series()
