"""The Vendi score (Friedman & Dieng 2023): the effective number of distinct items.

VS = exp(-sum_i l_i log l_i), l_i the eigenvalues of K/n with K the cosine-similarity
matrix. For normalised embeddings X (n x d), K = X X^T has the same non-zero eigenvalues
as X^T X (d x d), so the cost is O(n d^2), not O(n^3): 100k x 384 takes well under a second.
"""
from __future__ import annotations

import numpy as np


def vendi_score(x: np.ndarray, q: float = 1.0) -> float:
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return 0.0
    small = x @ x.T if n <= x.shape[1] else x.T @ x
    lam = np.linalg.eigvalsh(small / n)
    lam = lam[lam > 1e-12]
    lam = lam / lam.sum()  # trace(K/n) = 1 for unit vectors; renormalise rounding
    if q == 1.0:
        return float(np.exp(-(lam * np.log(lam)).sum()))
    return float(np.exp(np.log((lam ** q).sum()) / (1.0 - q)))
