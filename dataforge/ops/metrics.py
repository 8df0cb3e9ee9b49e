"""dataset_metrics: dataset-level diversity, coverage, language and length numbers for the report.

Rows pass through unchanged; the numbers come back from `report_metrics()` and land in
manifest.json["metrics"][stage] and OUT/report.json. Everything is plain JSON.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
import polars as pl

from dataforge.ops.base import GlobalOp, param, register
from dataforge.score import texts, verbnoun
from dataforge.score.rules import digest
from dataforge.score.vendi import vendi_score
from dataforge.words import WORD_RE

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
LENGTH_BINS = (0, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


def entropy(counts: list[int]) -> tuple[float, float]:
    """Shannon entropy in bits and its normalised form (1 = uniform over the categories seen)."""
    total = sum(counts)
    if total == 0:
        return 0.0, 0.0
    p = np.asarray([c / total for c in counts if c > 0])
    h = float(-(p * np.log2(p)).sum()) + 0.0  # no "-0.0" in the report
    return round(h, 4), round(h / math.log2(len(p)), 4) if len(p) > 1 else 0.0


def distribution(s: pl.Series, top: int = 40) -> dict[str, int]:
    vc = s.fill_null("(none)").value_counts(sort=True).head(top)
    return {str(k): int(n) for k, n in vc.iter_rows()}


def length_stats(words: pl.Series) -> dict:
    w = words.cast(pl.Float64)
    stats = {f"p{int(q * 100)}": float(w.quantile(q) or 0.0) for q in QUANTILES}
    stats["mean"] = round(float(w.mean() or 0.0), 2)
    edges = list(LENGTH_BINS) + [float("inf")]
    hist = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        label = f"{lo}-{hi - 1}" if math.isfinite(hi) else f"{lo}+"
        hist[label] = int(((w >= lo) & (w < hi)).sum())
    return {"words": stats, "histogram_words": hist}


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 25) -> np.ndarray:
    """Spherical k-means (cosine), k-means++ seeding; labels per row."""
    rng = np.random.default_rng(seed)
    n = len(x)
    centers = [x[rng.integers(n)]]
    d = np.full(n, np.inf)
    for _ in range(1, k):
        d = np.minimum(d, 1.0 - x @ centers[-1])
        p = np.clip(d, 0, None)
        centers.append(x[rng.choice(n, p=p / p.sum())] if p.sum() > 0 else x[rng.integers(n)])
    c = np.stack(centers)
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iters):
        new = (x @ c.T).argmax(axis=1)
        if _ and (new == labels).all():
            break
        labels = new
        for j in range(k):
            m = x[labels == j]
            if len(m):
                v = m.sum(axis=0)
                c[j] = v / (np.linalg.norm(v) or 1.0)
    return labels


@register
class DatasetMetrics(GlobalOp):
    """Dataset metrics for the report; rows pass through unchanged.

    Instruction diversity (verb–noun pairs, embedding dispersion, Vendi score), task
    coverage (entropy over `task` and over embedding groups), language mix, length
    distributions, score summaries and a 2-D embedding sample for the report's map.
    Embeddings use at most `sample` rows (seeded), so cost stays flat on big data."""

    name = "dataset_metrics"
    fields: list[str] = param(default_factory=lambda: ["instruction", "input"])
    model: str | None = None
    sample: int = 5000  # rows embedded for dispersion, Vendi, groups and the map
    groups: int = 20  # embedding groups (spherical k-means) for coverage
    map_points: int = 1000  # points in embedding_2d
    embeddings: bool = True  # False: skip everything that needs the embedding model
    # rows the model cannot represent are left out of the embedding metrics (as dedup_semantic)
    scripts: Literal["auto", "latin", "all"] = "auto"
    inputs = ("instruction", "input", "output", "task", "lang", "source")

    def fingerprint_extra(self):
        return digest(verbnoun.VERBS, verbnoun.SKIP)

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        self._metrics = self.measure(df)
        return df

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def measure(self, df: pl.DataFrame) -> dict:
        n = df.height
        task_counts = distribution(df["task"])
        h, hn = entropy(df["task"].value_counts()["count"].to_list())
        m: dict = {
            "rows": n,
            "task_coverage": {"by_task": task_counts, "tasks": int(df["task"].n_unique()),
                              "entropy_bits": h, "entropy_normalised": hn},
            "language_mix": distribution(df["lang"]),
            "source_mix": distribution(df["source"]),
            "lengths": {f: length_stats(df[f].fill_null("").str.count_matches(WORD_RE))
                        for f in ("instruction", "input", "output")},
        }
        vn = verbnoun.summary(verbnoun.verb_noun(df["instruction"]))
        m["verb_noun"] = {
            "distinct_verbs": vn["distinct_verbs"], "distinct_pairs": vn["distinct_pairs"],
            "share_with_pair": vn["share_with_pair"],
            "top_verbs": {t["verb"]: t["count"] for t in vn["top"]},
            "tree": vn["top"],
        }
        scores = [c for c in df.columns if c.startswith("score_")]
        if scores:
            m["scores"] = {c: {"mean": _f(df[c].mean()), "p50": _f(df[c].quantile(0.5)),
                               "missing": int(df[c].null_count())} for c in scores}
        if self.embeddings and n:
            m.update(self._embedding_metrics(df))
        return m

    def _embedding_metrics(self, df: pl.DataFrame) -> dict:
        rng = np.random.default_rng(self.ctx.seed)
        idx = np.sort(rng.choice(df.height, size=min(self.sample, df.height), replace=False))
        sub = df[idx]
        x, unread = texts.embed_rows(self, sub, self.fields, self.model, 1000, self.scripts,
                                     then="diversity is measured without them")
        left_out = 0
        if unread is not None:
            left_out = int(unread.sum())
            sub, x = sub.filter(pl.Series(~unread)), x[~unread]
            if len(x) < 2:
                return {"diversity": {"rows_embedded": len(x), "rows_not_embedded_script": left_out}}
        x = x.astype(np.float64)
        centroid = x.mean(axis=0)
        # mean pairwise cosine of unit vectors = (|sum|^2 - n) / (n^2 - n): O(n d), no n^2 matrix
        k = len(x)
        mean_cos = float((np.dot(centroid * k, centroid * k) - k) / (k * k - k)) if k > 1 else 1.0
        unit_centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        g = max(1, min(self.groups, k // 5 or 1))
        labels = kmeans(x.astype(np.float32), g, self.ctx.seed)
        counts = np.bincount(labels, minlength=g)
        gh, ghn = entropy(counts.tolist())
        out = {
            "diversity": {
                "rows_embedded": k,
                "rows_not_embedded_script": left_out,
                "vendi_score": round(vendi_score(x), 3),
                "vendi_per_row": round(vendi_score(x) / k, 4),
                "mean_pairwise_cosine": round(mean_cos, 4),
                "dispersion": round(1.0 - mean_cos, 4),
                "mean_distance_to_centroid": round(float(1.0 - (x @ unit_centroid).mean()), 4),
            },
            "embedding_groups": {"groups": g, "sizes": {f"g{j:02d}": int(c) for j, c in enumerate(counts)},
                                 "entropy_bits": gh, "entropy_normalised": ghn},
        }
        out["embedding_2d"] = self._projection(x, sub, rng)
        return out

    def _projection(self, x: np.ndarray, sub: pl.DataFrame, rng) -> list[dict]:
        """PCA to 2-D of a sample: [{x, y, source, task}] for the report's embedding map."""
        take = np.sort(rng.choice(len(x), size=min(self.map_points, len(x)), replace=False))
        xs = x[take] - x[take].mean(axis=0)
        if len(xs) < 2:
            return []
        _, _, vt = np.linalg.svd(xs, full_matrices=False)
        p = xs @ vt[:2].T
        # the id lets the report show each point's instruction on hover
        meta = sub[take].select([c for c in ("id", "source", "task") if c in sub.columns]).to_dicts()
        return [{"x": round(float(a), 4), "y": round(float(b), 4), **mt} for (a, b), mt in zip(p, meta)]


def _f(v) -> float | None:
    return None if v is None else round(float(v), 4)
