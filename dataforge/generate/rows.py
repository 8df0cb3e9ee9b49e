"""Build canonical rows for generated examples (vectorised ids, JSON meta, optional reject)."""
from __future__ import annotations

import json
from typing import Any

import polars as pl

from dataforge.schema import COLUMNS, REJECT, REJECT_DETAIL, content_id


def make_rows(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Dicts with canonical fields (+ `meta` dict, `_reject`) -> a frame in the canonical layout.

    Ids hash the content like every other row; `meta` dicts are JSON-encoded.
    """
    schema = {c: pl.Utf8 for c in COLUMNS} | {REJECT: pl.Utf8, REJECT_DETAIL: pl.Utf8}
    base = {"input": "", "output": "", "system": None, "task": "unknown", "source": "generated",
            "lang": "en", "parent_id": None, "id": None, REJECT: None, REJECT_DETAIL: None}
    rows = []
    for r in records:
        row = base | r
        meta = row.get("meta", {})
        row["meta"] = meta if isinstance(meta, str) else json.dumps(meta or {}, ensure_ascii=False, default=str)
        rows.append({k: row.get(k) for k in schema})
    df = pl.DataFrame(rows, schema=schema)
    if df.height:
        df = df.with_columns(pl.coalesce(pl.col("id"), content_id(df)).alias("id"))
    return df


def concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Stack input rows and generated rows; columns missing on one side become null."""
    frames = [f for f in frames if f.width]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
