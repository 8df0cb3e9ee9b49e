"""Connected components over an edge list, vectorised with numpy (no per-edge Python).

Each round hooks the larger root of every edge onto the smaller one and then
compresses paths by pointer jumping; a handful of rounds suffice in practice.
Labels are the smallest member index of each component.
"""
from __future__ import annotations

import numpy as np


def _compress(parent: np.ndarray) -> np.ndarray:
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest index) of each of n nodes joined by edges a[i]-b[i]."""
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while a.size:
        ra, rb = parent[a], parent[b]
        todo = ra != rb
        if not todo.any():
            break
        ra, rb = ra[todo], rb[todo]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        np.minimum.at(parent, hi, lo)  # several edges may hook the same root: keep the smallest
        parent = _compress(parent)
        a, b = a[todo], b[todo]
    return _compress(parent)
