"""Deterministic per-row randomness: every draw derives from (seed, row id, purpose).

Never from batch position, so a resumed or re-batched run makes the same choices for the
same rows (templates, prompt types, augmentations, splits). One XXH3-64 per row
(dataforge.hashing: stable across Polars versions, unlike `pl.hash`), then cheap numpy
splitmix64 mixing for each purpose.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge import hashing

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def base(ids: list[str] | pl.Series, seed: int) -> np.ndarray:
    """One uint64 per row from seed and id."""
    ids = pl.Series("k", ids, dtype=pl.Utf8) if not isinstance(ids, pl.Series) else ids.cast(pl.Utf8)
    return hashing.u64(f"{seed}\x1f" + ids)


def _salt(purpose: str) -> np.uint64:
    return np.uint64(hashing.u64_one(purpose))


def _mix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # wrapping arithmetic is the point
        z = x + _GOLD
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def bits(b: np.ndarray, purpose: str) -> np.ndarray:
    return _mix(b ^ _salt(purpose))


def uniform(b: np.ndarray, purpose: str) -> np.ndarray:
    """Floats in [0, 1), one per row, independent across purposes."""
    return (bits(b, purpose) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def choose(b: np.ndarray, purpose: str, weights: list[float]) -> np.ndarray:
    """Index into `weights` per row, with probability proportional to the weight."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, uniform(b, purpose), side="right").astype(np.int64)


def row_seeds(ids: list[str] | pl.Series, seed: int, purpose: str) -> np.ndarray:
    """A uint32 seed per row, e.g. for seeding a per-row random.Random."""
    return (bits(base(ids, seed), purpose) >> np.uint64(32)).astype(np.uint32)


def keys_in_id_order(ids: pl.Series, *seed: int) -> np.ndarray:
    """One uniform [0, 1) key per row, drawn in id order from `seed`: a random order that
    depends on the seed and the ids only, never on the rows' positions."""
    rng = np.random.default_rng(list(seed))
    u = np.empty(len(ids))
    u[ids.arg_sort().to_numpy()] = rng.random(len(ids))
    return u
