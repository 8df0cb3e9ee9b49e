"""Check rows as they are read, so bad input is reported by file, line and field.

Record rows (those with instruction and output) need text in both; a nested value (list,
object) where the schema wants text is a schema error naming the field and its type. With
`on_error: quarantine` bad rows become rejects with that reason instead of stopping the run.
"""
from __future__ import annotations

import json

import polars as pl

from dataforge.errors import InputError, SchemaError
from dataforge.io.read import Batch
from dataforge.schema import CANONICAL, has_record_columns

REQUIRED = ("instruction", "output")


def check_batch(b: Batch, source: str, quarantine: bool) -> Batch:
    """Return the batch with bad record rows moved to `b.bad` (or raise)."""
    df = b.rows
    if not df.width or not has_record_columns(df.columns):
        return b
    for col in CANONICAL:
        if col in df.columns and col != "meta" and isinstance(df.schema[col], (pl.List, pl.Struct, pl.Array)):
            raise SchemaError(f"source '{source}' ({b.file or 'table'}): field '{col}' must be text, "
                              f"got {df.schema[col]}; map a text field to it in the recipe")
    text = {c: pl.col(c).cast(pl.Utf8) for c in REQUIRED}
    missing = pl.concat_str(
        [pl.when(text[c].is_null()).then(pl.lit(c + " ")).otherwise(pl.lit("")) for c in REQUIRED]
    ).str.strip_chars()
    flags = df.select(missing.alias("m")).to_series()
    bad_idx = [i for i, m in enumerate(flags.to_list()) if m]
    if not bad_idx:
        return b
    if not quarantine:
        i = bad_idx[0]
        raise InputError(f"{b.where(i)}: field '{flags[i].split()[0]}' is missing or null "
                         f"(source '{source}'; set `on_error: quarantine` to keep going)")
    keep = pl.Series([not m for m in flags.to_list()])
    bad = [{"file": b.file or source, "line": b.lines[i] if b.lines else i + 1,
            "error": f"missing field: {flags[i]}",
            "raw": json.dumps(df.row(i, named=True), default=str)[:10_000]} for i in bad_idx]
    lines = [n for n, k in zip(b.lines, keep) if k] if b.lines is not None else None
    return Batch(df.filter(keep), b.bad + bad, b.read, b.file, lines)
