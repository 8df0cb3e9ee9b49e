"""Weights for an ensemble of the top-k prompts, fitted on the dev set.

Judges: weights maximise the fitness metric of the weighted mean of the prompts' scores.
Start from the best of {uniform, weights proportional to each prompt's fitness above the
worst}, then coordinate ascent on the simplex (move mass between two prompts in steps of
0.2, 0.1, 0.05) keeping only strict improvements. The result is never worse on the dev
set than the unweighted mean, which is one of the starting points.
Generators: a weighted mixture (each row draws one prompt), weights proportional to fitness
above the worst of the top-k (plus a floor so no member is switched off by rounding).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from dataforge.score.judge import aggregate_weighted


def fit_judge(preds: np.ndarray, fitness: list[float], metric: Callable[[np.ndarray], float],
              vote: bool = False) -> tuple[np.ndarray, float, float]:
    """preds: (rows, k) raw scores. Returns (weights, dev metric of weights, dev metric of the mean)."""
    k = preds.shape[1]
    uniform = np.full(k, 1.0 / k)

    def value(w: np.ndarray) -> float:
        return metric(aggregate_weighted(preds, w, vote=vote))

    base = value(uniform)
    if k == 1:
        return uniform, base, base
    f = np.asarray(fitness, dtype=np.float64)
    prop = f - f.min() + 1e-3
    starts = [uniform, prop / prop.sum()]
    best_w, best_v = max(((w, value(w)) for w in starts), key=lambda t: t[1])
    for step in (0.2, 0.1, 0.05):
        improved = True
        while improved:
            improved = False
            for i in range(k):
                for j in range(k):
                    if i == j or best_w[j] < step - 1e-12:
                        continue
                    w = best_w.copy()
                    w[i] += step
                    w[j] = max(0.0, w[j] - step)  # no -1e-17 from float rounding
                    v = value(w)
                    if v > best_v + 1e-12:
                        best_w, best_v, improved = w, v, True
    return best_w / best_w.sum(), best_v, base


def fit_mixture(fitness: list[float]) -> np.ndarray:
    f = np.asarray(fitness, dtype=np.float64)
    if len(f) == 1:
        return np.ones(1)
    spread = f.max() - f.min()
    w = (f - f.min()) + (0.1 * spread if spread > 0 else 1.0)
    return w / w.sum()
