"""Near-duplicate removal: MinHash signatures + LSH banding + union-find clusters.

Same scheme as datasketch (word n-gram shingles, `num_perm` permutations, b bands x r
rows chosen for a Jaccard `threshold` unless given), but signatures are computed for
all documents with numpy array arithmetic (see dataforge/clean/minhash.py), candidate
pairs come from a group-by on band keys, and clusters from a vectorised union-find.
Candidate pairs can be verified (estimated or exact Jaccard >= threshold) before they join.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from dataforge.clean import minhash as M
from dataforge.clean.keep import KeepRule, cluster_metrics, mark_duplicates
from dataforge.clean.text import joined, norm_expr
from dataforge.clean.unionfind import components
from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register


def near_clusters(texts: pl.Series, *, ngram: int = 5, num_perm: int = 128, threshold: float = 0.8,
                  bands: int | None = None, rows: int | None = None, verify: str = "jaccard",
                  fn_weight: float | None = None, seed: int = 1,
                  chunk_docs: int = 50_000) -> tuple[np.ndarray, dict]:
    """Component label per text (-1 for texts in no duplicate cluster) and run statistics.

    Shingles are built per chunk of `chunk_docs` texts and dropped once hashed, so only
    the signatures (4 * num_perm bytes per text) stay in memory for the whole dataset.
    """
    n = len(texts)
    sig = np.empty((n, num_perm), dtype=np.uint32)
    has = np.zeros(n, dtype=bool)
    for lo in range(0, n, chunk_docs):
        s, h = M.signatures(M.shingle_hashes(texts.slice(lo, chunk_docs), ngram), num_perm, seed)
        sig[lo:lo + len(s)], has[lo:lo + len(s)] = s, h
    if bands is None or rows is None:
        # Verified candidates can afford false positives: lean the band choice to recall.
        fn = fn_weight if fn_weight is not None else (0.5 if verify == "none" else 0.98)
        bands, rows = M.optimal_bands(threshold, num_perm, 1.0 - fn, fn)
    docs = np.flatnonzero(has)
    a, b = M.lsh_pairs(sig, docs, bands, rows)
    n_cand = int(a.size)
    if verify == "signature" and a.size:
        ok = M.signature_similarity(sig, a, b) >= threshold
        a, b = a[ok], b[ok]
    elif verify == "jaccard" and a.size:
        ok = exact_pairs(texts, a, b, ngram) >= threshold
        a, b = a[ok], b[ok]
    labels = components(n, a, b)
    sizes = np.bincount(labels, minlength=n)
    labels = np.where(sizes[labels] > 1, labels, -1)
    stats = {"bands": bands, "rows": rows, "candidate_pairs": n_cand, "verified_pairs": int(a.size),
             "signature_bytes": int(sig.nbytes)}
    return labels, stats


def exact_pairs(texts: pl.Series, a: np.ndarray, b: np.ndarray, ngram: int) -> np.ndarray:
    """Exact shingle Jaccard of candidate pairs, re-shingling only the texts involved."""
    involved = np.unique(np.r_[a, b])
    sh = M.shingle_hashes(texts.gather(involved), ngram)
    pos = np.searchsorted(involved, a), np.searchsorted(involved, b)
    return M.exact_jaccard(sh, *pos)


# Converted rows of these tasks share a passage or premise with other rows; they are
# near-duplicates only when what makes them distinct also matches (normalised): the answer
# (SQuAD, multiple choice), the label (NLI, paraphrase), the question written (inverted QA).
DISTINCT_BY_TASK = {"extractive_qa": ["output"], "nli": ["output"], "multiple_choice": ["output"],
                    "paraphrase": ["output"], "question_generation": ["output"]}


def split_by_task(df: pl.DataFrame, cluster: pl.Series, distinct: dict[str, list[str]],
                  max_words: int = 12) -> pl.Series:
    """Split each cluster by the normalised `distinct` fields of its rows' task, where those
    fields are short (an answer span, a label; at most `max_words` words). Long ones (a CoT
    explanation, a quiz) already weigh in the shingle similarity."""
    if not distinct or "task" not in df.columns:
        return cluster
    key = pl.lit(None, dtype=pl.Utf8)
    for task, fields in distinct.items():
        parts = pl.concat_str([norm_expr(pl.col(f).cast(pl.Utf8)) for f in fields if f in df.columns],
                              separator="\x1f")
        short = parts.str.count_matches(r"\w+") <= max_words
        key = pl.when((pl.col("task") == task) & short).then(parts.hash(seed=0).cast(pl.Utf8)).otherwise(key)
    return df.select(pl.when(pl.lit(cluster).is_not_null() & key.is_not_null())
                     .then(pl.concat_str([pl.lit(cluster), key], separator="|"))
                     .otherwise(pl.lit(cluster)).alias("c"))["c"]


@register
class DedupNear(GlobalOp):
    """MinHash-LSH near-duplicate removal (datasketch scheme, vectorised), keep one per cluster."""

    name = "dedup_near"
    fields: list[str] = param(default_factory=lambda: ["instruction", "input", "output"])
    ngram: int = 5
    num_perm: int = 128
    threshold: float = 0.8
    bands: int | None = None
    rows: int | None = None
    verify: Literal["none", "signature", "jaccard"] = "jaccard"
    fn_weight: float | None = None  # datasketch's false-negative weight; None: 0.98 if verify else 0.5
    keep: KeepRule = "first"
    keep_score: str | None = None
    seed: int = 1
    # task -> fields that must also match for rows of that task to be duplicates ({} turns it off)
    distinct_by_task: dict[str, list[str]] = param(default_factory=lambda: dict(DISTINCT_BY_TASK))
    distinct_max_words: int = 12  # ... when those fields are this short (answers, labels)

    def validate(self):
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"dedup_near: threshold must be in (0, 1], got {self.threshold}")
        if (self.bands is None) != (self.rows is None):
            raise ConfigError("dedup_near: give both `bands` and `rows`, or neither (then `threshold` picks them)")
        if self.bands and self.bands * self.rows > self.num_perm:
            raise ConfigError(f"dedup_near: bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.fn_weight is not None and not 0 <= self.fn_weight <= 1:
            raise ConfigError(f"dedup_near: fn_weight must be in [0, 1], got {self.fn_weight}")
        if self.ngram < 1 or self.num_perm < 1:
            raise ConfigError("dedup_near: ngram and num_perm must be >= 1")

    def columns_in(self):
        extra = sorted({f for fs in self.distinct_by_task.values() for f in fs} | ({"task"} if self.distinct_by_task else set()))
        return list(self.fields) + [c for c in extra if c not in self.fields] + ([self.keep_score] if self.keep_score else [])

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        texts = df.select(joined(self.fields).str.replace_all("\x1f", " ").alias("t"))["t"]
        labels, stats = near_clusters(texts, ngram=self.ngram, num_perm=self.num_perm,
                                      threshold=self.threshold, bands=self.bands, rows=self.rows,
                                      verify=self.verify, fn_weight=self.fn_weight, seed=self.seed)
        cluster = pl.Series("c", labels).cast(pl.Utf8)
        cluster = pl.select(pl.when(pl.lit(labels) >= 0).then(pl.lit(cluster)).otherwise(None).alias("c"))["c"]
        cluster = split_by_task(df, cluster, self.distinct_by_task, self.distinct_max_words)
        self._metrics = cluster_metrics(cluster) | stats | {"threshold": self.threshold}
        return mark_duplicates(df, cluster, reason="duplicate_near", keep=self.keep, score=self.keep_score,
                               detail=f"{'exact' if self.verify == 'jaccard' else 'MinHash'} Jaccard >= {self.threshold}")

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})
