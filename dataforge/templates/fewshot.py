"""Few-shot exemplars: k other rows of the same batch, chosen by seed, never the row itself.

All batch rows are laid on a ring ordered by a seeded hash of their id; a query takes the
next k rows on the ring that its template can render and that are not the row itself (nor
a duplicate of it: same row key; a 2-D `key_code` adds keys such as the passage that an
exemplar must not share either). The choice depends on seed, ids and the batch's rows,
never on row positions, so the same input in the same batches gives the same exemplars.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge import rand as draw

NONE = -1


def ring(base: np.ndarray) -> np.ndarray:
    """Ring position of each batch row (a seeded permutation)."""
    order = np.argsort(draw.bits(base, "few_shot"), kind="stable")
    pos = np.empty_like(order)
    pos[order] = np.arange(order.size)
    return pos


def pick(queries: np.ndarray, valid: np.ndarray, pos: np.ndarray, key_code: np.ndarray, k: int) -> np.ndarray:
    """(len(queries), k) matrix of exemplar rows, NONE where fewer were available."""
    out = np.full((queries.size, k), NONE, dtype=np.int64)
    cand_rows = np.flatnonzero(valid)
    if queries.size == 0 or cand_rows.size == 0 or k <= 0:
        return out
    cand_rows = cand_rows[np.argsort(pos[cand_rows], kind="stable")]
    m = cand_rows.size
    width = min(m, k + 32)  # room to skip the row itself, duplicates and rows of its passage
    start = np.searchsorted(pos[cand_rows], pos[queries], side="right")
    cand = cand_rows[(start[:, None] + np.arange(width)[None, :]) % m]
    same = key_code[cand] == key_code[queries][:, None]
    if key_code.ndim == 2:  # several keys (row key, passage, ...): sharing any one excludes
        same = same.any(axis=-1)
    bad = (cand == queries[:, None]) | same
    order = np.argsort(bad, axis=1, kind="stable")[:, :k]  # good candidates first, ring order kept
    chosen = np.take_along_axis(cand, order, axis=1)
    chosen_bad = np.take_along_axis(bad, order, axis=1)
    chosen[chosen_bad] = NONE
    out[:, :chosen.shape[1]] = chosen
    return out


def blocks_text(queries: np.ndarray, ex: np.ndarray, blocks: pl.DataFrame, row_col: str,
                sep: str, shown: np.ndarray | None = None) -> pl.DataFrame:
    """Join each query's exemplar blocks (column `block` of `blocks`, keyed by row) with `sep`.
    With `shown` (per query: its answer options are shown), an exemplar of such a query, or
    one whose `_refers` is true, uses `block_opts` (the exemplar with its own options)."""
    k = ex.shape[1]
    cols = {"_q": np.repeat(np.arange(queries.size), k), "_slot": np.tile(np.arange(k), queries.size),
            row_col: ex.reshape(-1)}
    if shown is not None:
        cols["_qs"] = np.repeat(shown, k)
    pairs = pl.DataFrame(cols).filter(pl.col(row_col) != NONE)
    joined = pairs.join(blocks, on=row_col, how="left").sort("_q", "_slot")
    if shown is not None:
        joined = joined.with_columns(pl.when(pl.col("_qs") | pl.col("_refers")).then(pl.col("block_opts"))
                                     .otherwise(pl.col("block")).alias("block"))
    agg = joined.group_by("_q", maintain_order=True).agg(
        pl.col("block").str.join(sep).alias("exemplars"), pl.col("_key").alias("exemplar_ids"))
    base = pl.DataFrame({"_q": np.arange(queries.size)})
    return base.join(agg, on="_q", how="left").sort("_q")
