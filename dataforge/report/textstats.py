"""Character- and word-level statistics of a sample of rows (as data-juicer's analysers measure them).

Per row, on instruction + input + output joined:
- `special_char_ratio`: characters that are neither letters, digits nor whitespace / characters;
- `stopword_ratio`: words in rules/synonyms/stopwords.txt (English function words) / words;
- `flagged_word_ratio`: words in rules/filters/blocklist_en.txt / words.
"""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_words

STOPWORDS = "synonyms/stopwords.txt"
FLAGGED = "filters/blocklist_en.txt"
MEASURES = ("special_char_ratio", "stopword_ratio", "flagged_word_ratio")
FIELDS = ("instruction", "input", "output")


def measure(df: pl.DataFrame) -> pl.DataFrame:
    """One row per input row: id, source, task and the three ratios (0 for empty text)."""
    fields = [f for f in FIELDS if f in df.columns]
    text = pl.concat_str([pl.col(f).fill_null("") for f in fields], separator="\n")
    base = df.select(pl.col("id"), *[pl.col(c) for c in ("source", "task") if c in df.columns],
                     text.alias("_t")).with_row_index("_r")
    chars = pl.col("_t").str.len_chars()
    special = pl.col("_t").str.count_matches(r"[^\p{L}\p{N}\s]")
    words = (base.select("_r", pl.col("_t").str.to_lowercase().str.extract_all(r"[\p{L}']+").alias("w"))
             .explode("w").drop_nulls("w"))
    stop, flagged = set(load_words(STOPWORDS)), set(load_words(FLAGGED))
    per = (words.group_by("_r").agg(pl.len().alias("_n"), pl.col("w").is_in(list(stop)).sum().alias("_s"),
                                    pl.col("w").is_in(list(flagged)).sum().alias("_f")))
    out = base.join(per, on="_r", how="left").with_columns(pl.col("_n", "_s", "_f").fill_null(0))
    ratio = lambda a, b: pl.when(b > 0).then(a / b).otherwise(0.0).round(4)  # noqa: E731
    return out.select(
        "id", *[c for c in ("source", "task") if c in out.columns],
        ratio(special, chars).alias("special_char_ratio"),
        ratio(pl.col("_s"), pl.col("_n")).alias("stopword_ratio"),
        ratio(pl.col("_f"), pl.col("_n")).alias("flagged_word_ratio"),
    )
