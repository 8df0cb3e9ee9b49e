"""Rows that share a context are duplicates only when what makes them distinct matches too.

Converted SQuAD questions share their passage, e-SNLI hypotheses their premise, Dolly's closed
QA questions their context: the shared text makes their shingles and embeddings alike. Both
near dedup (dedup_near) and semantic dedup (dedup_semantic) split each cluster by the
normalised `distinct` fields of its rows' task, where those fields are short; rows of any
other task, or of none, by their answer where it is short.
"""
from __future__ import annotations

import polars as pl

from dataforge.clean.text import norm_expr
from dataforge.words import NUMBER

# Converted rows of these tasks share a passage or premise with other rows; they are
# near-duplicates only when what makes them distinct also matches (normalised): the answer
# (SQuAD, multiple choice), the label (NLI, paraphrase), the question written (inverted QA).
# Imported closed QA and extraction rows (Dolly's closed_qa, information_extraction) ask
# several questions about one context: there the question itself must match.
# Any other row ("*": no task, or one not listed) is a duplicate only when its answer matches
# too, where the answer is short: two prompts a sentence embedding or a shared passage makes
# alike but whose labels, numbers or spans differ ("Positive" / "Negative", "neutral" /
# "entailment", "Around 1850" / "The steam engine") are two examples, not one.
DISTINCT_BY_TASK = {"extractive_qa": ["output"], "nli": ["output"], "multiple_choice": ["output"],
                    "paraphrase": ["output"], "question_generation": ["output"],
                    "closed_qa": ["instruction"], "extraction": ["instruction"],
                    "*": ["output"]}
WILD = ("*", "*input")  # "*input": rows of no listed task that have an input (not in the default)
BYTES_PER_WORD = 16  # a short answer of n words has fewer bytes than this many per word (labels, spans, numbers)


def split_by_task(df: pl.DataFrame, cluster: pl.Series, distinct: dict[str, list[str]],
                  max_words: int = 12) -> pl.Series:
    """Split each cluster by the normalised `distinct` fields of its rows' task, where those
    fields are short (an answer span, a label; at most `max_words` words). Long ones (a CoT
    explanation, a quiz) already weigh in the shingle similarity."""
    if not distinct:
        return cluster
    named = [t for t in distinct if t not in WILD]
    task = pl.col("task").cast(pl.Utf8) if "task" in df.columns else pl.lit(None, dtype=pl.Utf8)
    listed = task.is_in(named).fill_null(False)
    has_input = pl.col("input").cast(pl.Utf8).fill_null("").str.contains(r"\S") if "input" in df.columns \
        else pl.lit(False)
    entries = []  # (name, fields, rows it applies to, fields short enough in bytes to be short in words)
    for name, fields in distinct.items():
        fields = [f for f in fields if f in df.columns]
        if not fields:
            continue
        which = ~listed if name == "*" else (~listed & has_input) if name == "*input" else (task == name).fill_null(False)
        nbytes = pl.sum_horizontal([pl.col(f).cast(pl.Utf8).fill_null("").str.len_bytes() for f in fields])
        entries.append((name, fields, which, nbytes <= max_words * BYTES_PER_WORD))
    if not entries:
        return cluster
    # only rows in a cluster whose fields may be short get a key: normalising every row's fields
    # took 3.3 s of dedup_near's 5.9 s on 100k documents that had no task at all, and long
    # documents' answers are long (a byte count costs nothing; words are counted after)
    could = pl.any_horizontal([w & b for _, _, w, b in entries])
    rows = df.select(pl.arg_where(pl.lit(cluster).is_not_null() & could))[:, 0]
    if rows.len() == 0:
        return cluster
    sub = df[rows]
    keys = []  # one per entry that applies to a row; a row's key joins them
    for name, fields, which, short_bytes in entries:
        # each entry's key on its own rows only: a `when` would normalise every row's fields
        at = sub.select(pl.arg_where(which & short_bytes))[:, 0]
        if at.len() == 0:
            continue
        parts = pl.concat_str([norm_expr(pl.col(f).cast(pl.Utf8)) for f in fields], separator="\x1f")
        short = parts.str.count_matches(r"\w+") <= max_words
        if name in WILD:  # any task's answer: its words, in any order ("apple, pear" = "pear, apple")
            parts = parts.str.split(" ").list.unique().list.sort().list.join(" ")
        k = sub[at].select(pl.when(short).then(parts.hash(seed=0).cast(pl.Utf8)))[:, 0]
        keys.append(pl.Series([None] * sub.height, dtype=pl.Utf8).scatter(at, k))
    if not keys:
        return cluster
    key = pl.select(pl.when(pl.any_horizontal([pl.lit(k).is_not_null() for k in keys])).then(
        pl.concat_str([pl.lit(k).fill_null("") for k in keys], separator="/")))[:, 0]
    return _split(cluster, rows, key, "|")


def split_by_numbers(df: pl.DataFrame, cluster: pl.Series, fields: list[str]) -> pl.Series:
    """Split each cluster by the numbers its rows' `fields` hold (sorted): "Convert 5 miles to
    kilometers" and "Convert 10 miles ..." ask for different answers, though a sentence
    embedding barely tells them apart (the static model not at all)."""
    cols = [pl.col(f).cast(pl.Utf8).fill_null("") for f in fields if f in df.columns]
    rows = pl.select(pl.arg_where(pl.lit(cluster).is_not_null()))[:, 0]
    if not cols or rows.len() == 0:
        return cluster
    nums = df[rows].select(pl.concat_str(cols, separator="\n").str.extract_all(NUMBER).list.sort().list.join(" "))[:, 0]
    return _split(cluster, rows, nums, "#")


def _split(cluster: pl.Series, rows: pl.Series, keys: pl.Series, sep: str) -> pl.Series:
    """`cluster` with `keys` (one per row of `rows`, null: no split) appended after `sep`."""
    full = pl.Series("k", [None] * cluster.len(), dtype=pl.Utf8).scatter(rows, keys)
    return pl.select(pl.when(pl.lit(cluster).is_not_null() & pl.lit(full).is_not_null())
                     .then(pl.concat_str([pl.lit(cluster), pl.lit(full)], separator=sep))
                     .otherwise(pl.lit(cluster)).alias("c"))["c"]


def distinct_columns(distinct: dict[str, list[str]]) -> list[str]:
    """The columns `split_by_task` reads: `task` and every task's distinct fields."""
    return sorted({f for fs in distinct.values() for f in fs} | ({"task"} if distinct else set()))
