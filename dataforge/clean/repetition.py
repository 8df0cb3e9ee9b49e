"""Gopher repetition statistics (Rae et al. 2021; datatrove's GopherRepetitionFilter),
computed column-wise: texts are exploded into lines / paragraphs / words and counted
with group-bys instead of per-document Python loops.

Per text:
- dup_para_frac / dup_line_frac: duplicated paragraphs / lines over all of them (a line's
  enumerator, "Step 12:" or "3.", left out);
- dup_para_char_frac / dup_line_char_frac: characters in duplicated ones over the text;
- top_{n}_gram: characters of the most frequent word n-gram x its count, over the text,
  counted only when that n-gram occurs at least twice (datatrove also counts a single
  occurrence, which flags every short answer; instruction data has many);
- dup_{n}_gram: characters of words covered by repeated occurrences of any n-gram, over
  the text (Gopher's definition; datatrove approximates it with a greedy skip).
"""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.words import SHINGLE_TOKEN_RE

ROW = "__row"
# a line's leading enumerator: "Step 12:", "3.", "(b)", "- "
ENUMERATOR = r"(?i)^\s*(?:(?:step|line|item|row|part)\s+\d+\s*[.):-]?|\(?(?:\d+|[a-z])[.)]|[-*•])\s*"


def _parts_dup(texts: pl.DataFrame, pattern: str) -> pl.DataFrame:
    """Per row: elements, duplicated elements, characters in duplicated elements."""
    parts = (texts.select(ROW, pl.col("t").str.strip_chars().str.replace_all(pattern, "\x00")
                          .str.split("\x00").alias("p")).explode("p")
             # a line repeated under a new number is repeated ("Step 9: 25 × 10 = 250." again
             # as "Step 13: ..."): its enumerator is not part of it
             .with_columns(pl.col("p").str.replace(ENUMERATOR, "")))
    g = parts.group_by(ROW, "p").len("c")
    return g.group_by(ROW).agg(
        pl.col("c").sum().alias("n"),
        (pl.col("c") - 1).sum().alias("dup"),
        ((pl.col("c") - 1) * pl.col("p").str.len_chars()).sum().alias("dup_chars"),
    )


_MIX = np.uint64(0x9E3779B97F4A7C15)


class Words:
    """Words of every text, flat: row id, 64-bit word hash, length, position in its row."""

    def __init__(self, texts: pl.DataFrame):
        # (each CJK character a word, as shingles do: a Chinese clause was one "word", so a loop of
        # one clause had no repeated n-gram)
        w = texts.select(ROW, pl.col("t").str.extract_all(SHINGLE_TOKEN_RE).alias("w")).explode("w").drop_nulls("w")
        self.row = w[ROW].to_numpy().astype(np.int64)
        self.hash = w["w"].hash(seed=0).to_numpy()
        self.len = w["w"].str.len_chars().to_numpy().astype(np.int64)
        starts = np.r_[0, np.flatnonzero(np.diff(self.row)) + 1] if self.row.size else np.zeros(0, np.int64)
        sizes = np.diff(np.r_[starts, self.row.size])
        self.pos = np.arange(self.row.size) - np.repeat(starts, sizes)
        self.rowlen = np.repeat(sizes, sizes)

    def rows_present(self) -> np.ndarray:
        """Row ids that have words, ascending (words are stored row by row)."""
        r = self.row
        return r[np.r_[True, r[1:] != r[:-1]]] if r.size else r

    def rows(self, keep: np.ndarray) -> "Words":
        """The words of the rows in `keep` (sorted row ids) only; whole rows, so positions hold."""
        sub = object.__new__(Words)
        mask = np.isin(self.row, keep, assume_unique=False)
        for a in ("row", "hash", "len", "pos", "rowlen"):
            setattr(sub, a, getattr(self, a)[mask])
        return sub

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(valid start mask, key per start unique within a row, chars of the n-gram with spaces)."""
        key = self.row.astype(np.uint64) * _MIX
        chars = np.full(self.row.size, n - 1, dtype=np.int64)
        for k in range(n):
            h = np.zeros_like(self.hash)
            ln = np.zeros_like(self.len)
            if k:
                h[:-k], ln[:-k] = self.hash[k:], self.len[k:]
            else:
                h, ln = self.hash, self.len
            key = key * _MIX + h
            chars += ln
        valid = self.pos + n <= self.rowlen
        return valid, key, chars


def top_ngram_chars(words: Words, n: int) -> pl.DataFrame:
    valid, key, chars = words.ngrams(n)
    # the key already holds the row: grouping on it alone is one hash of a u64 column
    g = (pl.DataFrame({"k": key[valid], ROW: words.row[valid], "ch": chars[valid]})
         .group_by("k").agg(pl.len().alias("c"), pl.col(ROW).first(), pl.col("ch").first())
         .filter(pl.col("c") > 1))
    return g.group_by(ROW).agg((pl.col("c") * pl.col("ch")).max().alias(f"top_{n}"))


def dup_ngram_chars(words: Words, n: int) -> pl.DataFrame:
    valid, key, _ = words.ngrams(n)
    first = pl.Series(key).is_first_distinct().to_numpy()
    repeat = (valid & ~first).astype(np.int8)
    # a word is covered when a repeated n-gram starts at it or at one of the n-1 words before
    # (a valid n-gram never crosses its row's end, so the window never spans two rows)
    covered = pl.Series(repeat).rolling_max(window_size=n, min_samples=1).to_numpy().astype(bool)
    rows = words.rows_present()
    per_row = np.bincount(words.row, weights=np.where(covered, words.len, 0))[rows]
    return pl.DataFrame({ROW: rows, f"dup_{n}": per_row.astype(np.int64)})


def _ngram_frames(words: Words, top_n: list[int], dup_n: list[int]) -> list[pl.DataFrame]:
    """top_n and dup_n frames, from the shortest n up, each on the rows that can still repeat.

    A repeated n-gram holds a repeated k-gram for every k < n, so a row without a repeated
    k-gram scores 0 for every longer n: each pass reads only the rows whose last pass found a
    repeat (on instruction data most rows have no repeated 5-gram, so 7 and 10 cost little)."""
    frames = []
    live = words.rows_present().size
    for n in sorted(set(top_n) | set(dup_n)):
        for kind, fn in (("top", top_ngram_chars), ("dup", dup_ngram_chars)):
            if n in (top_n if kind == "top" else dup_n):
                f = fn(words, n)
                frames.append(f)
                repeating = f.filter(pl.col(f"{kind}_{n}") > 0)[ROW].to_numpy()
        if repeating.size < live:
            words, live = words.rows(repeating), repeating.size
    return frames


def stats(texts: pl.Series, top_n: list[int], dup_n: list[int]) -> pl.DataFrame:
    """One row per text: the fractions named in the module docstring (0 when empty)."""
    t = pl.DataFrame({"t": texts.fill_null("")}).with_row_index(ROW)
    out = t.select(ROW, pl.col("t").str.len_chars().alias("chars"))
    frames = []
    for name, pat in (("line", r"\n+"), ("para", r"\n{2,}")):
        d = _parts_dup(t, pat)
        frames.append(d.select(ROW, (pl.col("dup") / pl.col("n")).alias(f"dup_{name}_frac"),
                               pl.col("dup_chars").alias(f"dup_{name}_chars")))
    frames += _ngram_frames(Words(t), top_n, dup_n)
    for f in frames:
        out = out.join(f, on=ROW, how="left")
    chars = pl.col("chars").cast(pl.Float64).clip(lower_bound=1)
    ratios = [(pl.col(c).fill_null(0) / chars).alias(c.replace("_chars", "_char_frac"))
              for c in ("dup_line_chars", "dup_para_chars")]
    ratios += [(pl.col(f"top_{n}").fill_null(0) / chars).alias(f"top_{n}_gram") for n in top_n]
    ratios += [(pl.col(f"dup_{n}").fill_null(0) / chars).alias(f"dup_{n}_gram") for n in dup_n]
    return out.sort(ROW).select(pl.col("dup_line_frac").fill_null(0), pl.col("dup_para_frac").fill_null(0), *ratios)
