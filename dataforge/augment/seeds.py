"""Per-row seeds: a hash of (seed, row id, salt), so a row's augmentation does not depend on
which batch it lands in or its position there (reruns, resumes and other batch sizes agree)."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge import rand


def row_seeds(ids: pl.Series, seed: int, salt: str) -> np.ndarray:
    """uint32 seed per id (dataforge.rand: XXH3 of seed and id, stable across versions)."""
    return rand.row_seeds(ids, seed, salt)


def uniform(seeds: np.ndarray) -> np.ndarray:
    """Seeds -> floats in [0, 1), for sampling a `ratio` of the rows."""
    return seeds.astype(np.float64) / 2.0**32


def pick(options: list[str], seeds: np.ndarray, slot: np.ndarray) -> list[str]:
    """Option for each (row, slot): rotate from a per-row start so a row's slots differ."""
    idx = (seeds.astype(np.int64) + slot) % len(options)
    return [options[i] for i in idx]
