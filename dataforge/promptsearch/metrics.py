"""Agreement between scores and labels: AUROC, Spearman, accuracy (numpy, ties averaged)."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.errors import InputError

METRICS = ("auroc", "spearman", "accuracy")


def ranks(x: np.ndarray) -> np.ndarray:
    return pl.Series(x, dtype=pl.Float64).rank("average").to_numpy().astype(np.float64)


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties count one half."""
    y = np.asarray(labels).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise InputError("AUROC needs both classes among the labels")
    r = ranks(np.asarray(scores, dtype=np.float64))
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def spearman(labels: np.ndarray, scores: np.ndarray) -> float:
    a, b = ranks(np.asarray(labels, dtype=np.float64)), ranks(np.asarray(scores, dtype=np.float64))
    if a.std() == 0 or b.std() == 0:
        return 0.0  # a constant judge (or constant labels) tells nothing apart
    return float(np.corrcoef(a, b)[0, 1])


def accuracy(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(np.mean(np.rint(np.asarray(scores, dtype=np.float64)) == np.asarray(labels, dtype=np.float64)))


def pick(metric: str, labels: np.ndarray) -> str:
    """`auto`: AUROC for two label values, Spearman for more."""
    if metric != "auto":
        return metric
    return "auroc" if len(np.unique(labels)) == 2 else "spearman"


def score(metric: str, labels: np.ndarray, scores: np.ndarray) -> float:
    return {"auroc": auroc, "spearman": spearman, "accuracy": accuracy}[metric](labels, scores)
