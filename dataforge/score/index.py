"""Exact nearest-neighbour search over L2-normalised embeddings (cosine = dot product).

A flat index that answers in blocks: each block of queries is one BLAS matrix product
against the stored vectors, so the work is vectorised and memory stays bounded
(block x stored floats). Used by novelty (nearest other row), DEITA selection
(greedy admission with a similarity ceiling) and dataset metrics.
"""
from __future__ import annotations

import numpy as np

BLOCK = 2048  # queries per matrix product: 2048 x 100k float32 = 800 MB would be too much,
              # so `_block_for` shrinks the block as the index grows
MAX_BLOCK_BYTES = 256 << 20


def _block_for(n_stored: int) -> int:
    return int(max(64, min(BLOCK, MAX_BLOCK_BYTES // max(1, 4 * n_stored))))


class FlatIndex:
    """Append vectors, ask for the most similar stored vector of each query."""

    def __init__(self, dim: int, capacity: int = 1024):
        self._v = np.zeros((max(1, capacity), dim), dtype=np.float32)
        self.n = 0

    @property
    def vectors(self) -> np.ndarray:
        return self._v[: self.n]

    def add(self, vecs: np.ndarray) -> None:
        vecs = np.asarray(vecs, dtype=np.float32).reshape(-1, self._v.shape[1])
        need = self.n + len(vecs)
        if need > len(self._v):
            grown = np.zeros((max(need, 2 * len(self._v)), self._v.shape[1]), dtype=np.float32)
            grown[: self.n] = self._v[: self.n]
            self._v = grown
        self._v[self.n:need] = vecs
        self.n = need

    def nearest(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best cosine, index of the best stored vector) per query; (-inf, -1) when empty."""
        q = np.asarray(queries, dtype=np.float32)
        best = np.full(len(q), -np.inf, dtype=np.float32)
        arg = np.full(len(q), -1, dtype=np.int64)
        if self.n == 0 or len(q) == 0:
            return best, arg
        step = _block_for(self.n)
        for s in range(0, len(q), step):
            sims = q[s:s + step] @ self.vectors.T
            arg[s:s + step] = sims.argmax(axis=1)
            best[s:s + step] = sims[np.arange(len(sims)), arg[s:s + step]]
        return best, arg


def nearest_other(vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the cosine to its nearest *other* row and that row's index."""
    v = np.asarray(vecs, dtype=np.float32)
    n = len(v)
    best = np.full(n, -np.inf, dtype=np.float32)
    arg = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return best, arg
    step = _block_for(n)
    for s in range(0, n, step):
        sims = v[s:s + step] @ v.T
        rows = np.arange(len(sims))
        sims[rows, s + rows] = -np.inf  # not itself
        arg[s:s + step] = sims.argmax(axis=1)
        best[s:s + step] = sims[rows, arg[s:s + step]]
    return best, arg


def greedy_diverse(vecs: np.ndarray, order: np.ndarray, tau: float, budget: int | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DEITA's score-first, diversity-aware admission (Liu et al. 2024, Algorithm 1).

    Walk rows in `order` (best score first); admit a row when its cosine to every row
    admitted so far is <= tau, until `budget` rows are admitted.
    Returns (admitted mask, max cosine to the admitted set at decision time, index of that
    admitted row or -1) per row; rows never reached (budget full) have cosine nan.

    Blocks of candidates are checked against the admitted set with one matrix product;
    inside a block, survivors are resolved in order against each other (a small Gram
    matrix), so the result equals the one-row-at-a-time loop exactly.
    """
    v = np.asarray(vecs, dtype=np.float32)
    n = len(v)
    admitted = np.zeros(n, dtype=bool)
    sim = np.full(n, np.nan, dtype=np.float32)
    near = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return admitted, sim, near
    cap = n if budget is None else min(budget, n)
    index = FlatIndex(v.shape[1], capacity=min(cap, 4096) or 1)
    members: list[int] = []  # row index of each index entry
    pos = 0
    block = 1024
    while pos < n and index.n < cap:
        rows = order[pos:pos + block]
        pos += len(rows)
        best, arg = index.nearest(v[rows])
        # rows already too close to an admitted row are out; only survivors compete in-block
        out_ = best > tau
        hit = np.flatnonzero(out_)
        sim[rows[hit]] = best[hit]
        near[rows[hit]] = np.asarray(members, dtype=np.int64)[arg[hit]] if len(hit) else []
        surv = np.flatnonzero(~out_)
        if not len(surv):
            continue
        srows = rows[surv]
        gram = v[srows] @ v[srows].T
        taken: list[int] = []  # positions within `srows` admitted so far
        for j, r in enumerate(srows):
            if index.n + len(taken) >= cap:
                break
            b, a_row = float(best[surv[j]]), (members[arg[surv[j]]] if arg[surv[j]] >= 0 else -1)
            if taken:
                inblock = gram[j, taken]
                k = int(inblock.argmax())
                if inblock[k] > b:
                    b, a_row = float(inblock[k]), int(srows[taken[k]])
            sim[r] = b if np.isfinite(b) else np.nan
            near[r] = a_row
            if not b > tau:
                taken.append(j)
                admitted[r] = True
        if taken:
            index.add(v[srows[taken]])
            members.extend(int(srows[t]) for t in taken)
        if index.n >= cap:
            # rows of this block after the budget filled were never decided
            undecided = rows[~admitted[rows] & (np.arange(len(rows)) > _last_pos(rows, admitted))]
            sim[undecided] = np.nan
            near[undecided] = -1
    return admitted, sim, near


def _last_pos(rows: np.ndarray, admitted: np.ndarray) -> int:
    """Position in `rows` of the last admitted row (the moment the budget filled)."""
    pos = np.flatnonzero(admitted[rows])
    return int(pos[-1]) if len(pos) else -1
