"""Spherical k-means in numpy (seeded), used to partition embeddings for SemDeDup."""
from __future__ import annotations

import numpy as np


def assign(x: np.ndarray, centroids: np.ndarray, block: int = 65_536) -> np.ndarray:
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(0, x.shape[0], block):
        out[i:i + block] = np.argmax(x[i:i + block] @ centroids.T, axis=1)
    return out


def kmeans(x: np.ndarray, k: int, *, iters: int = 10, seed: int = 0) -> np.ndarray:
    """Cluster label per row of the L2-normalised matrix x (cosine similarity)."""
    n = x.shape[0]
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(n, k, replace=False)].copy()
    labels = assign(x, centroids)
    for _ in range(iters):
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, x)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centroids = np.where(empty[:, None], centroids, sums / np.maximum(norms, 1e-12))
        new = assign(x, centroids)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels
