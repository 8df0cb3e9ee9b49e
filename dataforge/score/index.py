"""Exact nearest-neighbour search over L2-normalised embeddings (cosine = dot product).

A flat index that answers in blocks: each block of queries is one BLAS matrix product
against the stored vectors, so the work is vectorised and memory stays bounded
(block x stored floats). Used by novelty (nearest other row), DEITA selection
(greedy admission with a similarity ceiling) and dataset metrics.
"""
from __future__ import annotations

from typing import NamedTuple

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
    `admit` is the general form (strata, their own thresholds, rows never compared, caps).
    """
    a = admit(vecs, order, tau, budget)
    return a.admitted, a.sim, a.near


class Admission(NamedTuple):
    admitted: np.ndarray  # bool per row
    sim: np.ndarray  # cosine to the admitted row that decided (nan: never compared)
    near: np.ndarray  # that row's index, or -1
    limit: np.ndarray  # the threshold that applied to that pair (nan where sim is)
    passed_over: np.ndarray  # bool: skipped because its stratum had its cap, and never admitted


def admit(vecs: np.ndarray, order: np.ndarray, tau: float, budget: int | None, *,
          group: np.ndarray | None = None, tau_group: np.ndarray | None = None,
          key: np.ndarray | None = None, cap: np.ndarray | None = None) -> Admission:
    """Greedy admission in `order` with strata (DEITA's rule when only tau and budget are given).

    - `group` (int code per row) and `tau_group` (a threshold per code): two rows of one
      stratum are too similar above their stratum's threshold, rows of two strata above `tau`;
    - `key` (int code per row): rows with different keys are never compared (other numbers,
      another answer: another request);
    - `cap` (rows per code): a row whose stratum has its cap is passed over; when every row
      has been walked and the budget is not full, the passed-over rows are walked again, in
      order, without caps (a stratum short of admissible rows leaves its share to the others).

    Candidates are checked in blocks against the admitted set with one matrix product;
    survivors of a block are resolved in order against each other (a small Gram matrix), so
    the result equals the one-row-at-a-time loop exactly."""
    v = np.asarray(vecs, dtype=np.float32)
    n = len(v)
    admitted = np.zeros(n, dtype=bool)
    sim = np.full(n, np.nan, dtype=np.float32)
    limit = np.full(n, np.nan, dtype=np.float32)
    near = np.full(n, -1, dtype=np.int64)
    passed = np.zeros(n, dtype=bool)
    if n == 0:
        return Admission(admitted, sim, near, limit, passed)
    total = n if budget is None else min(budget, n)
    g = np.zeros(n, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    tg = np.full(int(g.max()) + 1, tau, dtype=np.float32) if tau_group is None else \
        np.asarray(tau_group, dtype=np.float32)
    k = None if key is None else np.asarray(key, dtype=np.int64)
    count = np.zeros(len(tg), dtype=np.int64)
    members: list[int] = []  # admitted rows, in admission order
    store = FlatIndex(v.shape[1], capacity=min(total, 4096) or 1)

    plain = k is None and bool((tg == np.float32(tau)).all())  # the paper's rule: one tau

    def limits(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Threshold per pair (rows x others); +inf where the pair is never compared."""
        if plain:
            return np.broadcast_to(np.float32(tau), (len(rows), len(others)))
        same = g[rows][:, None] == g[others][None, :]
        t = np.where(same, tg[g[rows]][:, None], np.float32(tau)).astype(np.float32)
        if k is not None:
            t[k[rows][:, None] != k[others][None, :]] = np.inf
        return t

    def worst(sims: np.ndarray, t: np.ndarray):
        """Per row: the pair furthest over its threshold (else the most similar compared pair):
        its excess, column, cosine and threshold."""
        over = sims - t
        j = over.argmax(axis=1)
        r = np.arange(len(sims))
        return over[r, j], j, sims[r, j], t[r, j]

    def walk(seq: np.ndarray, capped: bool) -> None:
        pos = 0
        while pos < len(seq) and store.n < total:
            rows = seq[pos:pos + 1024]
            pos += len(rows)
            adm = np.asarray(members, dtype=np.int64)
            ex = np.full(len(rows), -np.inf)
            arg = np.full(len(rows), -1, dtype=np.int64)
            cs = np.full(len(rows), np.nan)
            ts = np.full(len(rows), np.nan)
            # a quarter of the usual block: the thresholds and masks are matrices of its size too
            step = max(16, _block_for(max(1, len(adm))) // (1 if plain else 4))
            for s in range(0, len(rows), step) if len(adm) else ():
                q = rows[s:s + step]
                e, j, c, t = worst(v[q] @ store.vectors.T, limits(q, adm))
                ex[s:s + step], arg[s:s + step], cs[s:s + step], ts[s:s + step] = e, adm[j], c, t
            out_ = ex > 0
            hit = np.flatnonzero(out_)
            sim[rows[hit]], limit[rows[hit]], near[rows[hit]] = cs[hit], ts[hit], arg[hit]
            surv = np.flatnonzero(~out_)
            if not len(surv):
                continue
            srows = rows[surv]
            gram = v[srows] @ v[srows].T
            glim = limits(srows, srows)
            taken: list[int] = []  # positions within `srows` admitted so far
            for j, r in enumerate(srows):
                if store.n + len(taken) >= total:
                    break
                b, c, t, a_row = ex[surv[j]], cs[surv[j]], ts[surv[j]], arg[surv[j]]
                if taken:
                    over = gram[j, taken] - glim[j, taken]
                    i = int(over.argmax())
                    if over[i] > b:
                        b, c, t, a_row = over[i], gram[j, taken[i]], glim[j, taken[i]], int(srows[taken[i]])
                if np.isfinite(t):
                    sim[r], limit[r], near[r] = c, t, a_row
                if b > 0:
                    continue
                if capped and cap is not None and count[g[r]] >= cap[g[r]]:
                    passed[r] = True  # its stratum has its share: perhaps on the second walk
                    sim[r], limit[r], near[r] = np.nan, np.nan, -1
                    continue
                taken.append(j)
                admitted[r] = True
                count[g[r]] += 1
            if taken:
                store.add(v[srows[taken]])
                members.extend(int(srows[t]) for t in taken)
            if store.n >= total:
                # rows of this block after the budget filled were never decided
                cut = _last_pos(rows, admitted)
                undecided = rows[~admitted[rows] & (np.arange(len(rows)) > cut)]
                sim[undecided], limit[undecided], near[undecided] = np.nan, np.nan, -1
                passed[undecided] = False

    order = np.asarray(order)
    walk(order, True)
    if cap is not None and store.n < total and passed.any():
        again = order[passed[order]]
        passed[again] = False
        walk(again, False)
        passed[again[~admitted[again] & np.isnan(sim[again])]] = True  # the budget filled first
    return Admission(admitted, sim, near, limit, passed)


def stratum_limits(vecs: np.ndarray, group: np.ndarray, tau: float, relative: float | None,
                   key: np.ndarray | None = None, min_rows: int = 20, sample: int = 2000,
                   seed: int = 0, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each stratum's own threshold: max(tau, 1 - relative x (1 - m)), m the median cosine of
    its rows to their nearest comparable row of the stratum (same `key`). Rows of one template
    sit alike whatever their short varying part (a new user's arithmetic template at a median
    0.99 with the static model): there a pair is too similar only when it is much closer than
    the stratum's rows usually are. Strata with fewer than `min_rows` rows that have a comparable neighbour keep
    tau. The median is measured on at most `sample` rows of a stratum (seeded), against all
    of its rows, drawn from its rows in `order` (the ranking: then the draw does not depend on
    the input's row order). Returns (threshold per code, median per code; nan where not measured)."""
    v = np.asarray(vecs, dtype=np.float32)
    codes = int(group.max()) + 1 if len(group) else 0
    lim = np.full(codes, tau, dtype=np.float32)
    med = np.full(codes, np.nan)
    if relative is None:
        return lim, med
    rng = np.random.default_rng(seed)
    seq = np.arange(len(group)) if order is None else np.asarray(order)
    for c in range(codes):
        rows = seq[group[seq] == c]
        if len(rows) < 2:
            continue
        pick = np.sort(rng.choice(len(rows), size=min(sample, len(rows)), replace=False))
        best = np.full(len(pick), -np.inf, dtype=np.float32)
        step = _block_for(len(rows))
        for s in range(0, len(pick), step):
            p = pick[s:s + step]
            sims = v[rows[p]] @ v[rows].T
            sims[np.arange(len(p)), p] = -np.inf  # not itself
            if key is not None:
                sims[key[rows[p]][:, None] != key[rows][None, :]] = -np.inf
            best[s:s + step] = sims.max(axis=1)
        best = best[np.isfinite(best)]
        if len(best) < min_rows:
            continue
        med[c] = float(np.median(best))
        lim[c] = max(tau, 1.0 - relative * (1.0 - med[c]))
    return lim, med


def _last_pos(rows: np.ndarray, admitted: np.ndarray) -> int:
    """Position in `rows` of the last admitted row (the moment the budget filled)."""
    pos = np.flatnonzero(admitted[rows])
    return int(pos[-1]) if len(pos) else -1
