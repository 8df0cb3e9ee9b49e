"""Guards every augmenter runs on its new rows: exact copy, semantic drift, lost numbers.

Each returns a reason per row (null keeps the row), in the "rule: details" form the engine
counts by rule: "copy: identical after normalisation", "drift: cosine 0.71 < 0.80",
"constraint: lost number 300".
"""
from __future__ import annotations

import numpy as np
import polars as pl

NUMBER = r"\d+(?:[.,]\d+)*"


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
    idx = df.select(pl.int_range(pl.len()).alias("_i"), pl.col(original).fill_null("")
                    .str.extract_all(NUMBER).alias("_n"), pl.col(new).fill_null("").alias("_t"))
    missing = (idx.explode("_n").drop_nulls("_n")
               .filter(~pl.col("_t").str.contains(pl.col("_n"), literal=True))
               .group_by("_i").agg(pl.col("_n").first()))
    out = idx.select("_i").join(missing, on="_i", how="left", maintain_order="left")
    return out.select(pl.when(pl.col("_n").is_not_null())
                      .then(pl.concat_str([pl.lit("constraint: lost number "), pl.col("_n")]))
                      .otherwise(None).alias("lost")).to_series()
