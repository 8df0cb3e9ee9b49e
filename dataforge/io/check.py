"""Check rows as they are read, so bad input is reported by file, line and field.

Record rows (those with instruction and output) need text in both, and every canonical
text column must hold text: a number, bool, list or object there is a row error naming
the field and the value, never a value turned into a string. With `on_error: quarantine`
bad rows become rejects with that reason instead of stopping the run.
"""
from __future__ import annotations

import dataclasses
import json

import polars as pl

from dataforge.errors import InputError
from dataforge.io.read import Batch
from dataforge.schema import CANONICAL, has_record_columns

REQUIRED = ("instruction", "output")
# Columns that must hold text. `meta` may also be an object (written as JSON); `id` may also
# be an integer (an identifier, written as its decimal digits).
TEXT_COLUMNS = tuple(c for c in CANONICAL if c != "meta")
_ID_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.Int128, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def check_batch(b: Batch, source: str, quarantine: bool) -> Batch:
    """Return the batch with bad record rows moved to `b.bad` (or raise)."""
    df = b.rows
    if not df.width or not has_record_columns(df.columns):
        return b
    # row -> the first problem found; kept sparse, since almost every batch has none (a list
    # of one entry per row cost 0.16 s per million rows)
    reasons: dict[int, str] = {}
    for col in TEXT_COLUMNS:
        if col not in df.columns:
            continue
        dtype = df.schema[col]
        if dtype in (pl.Utf8, pl.Null) or (col == "id" and dtype in _ID_TYPES):
            continue
        values = df[col].to_list()
        for i, v in enumerate(values):
            if v is not None and i not in reasons:
                reasons[i] = f"wrong type: field '{col}' must be text, got {dtype} {_show(v)}"
    if "meta" in df.columns and df.schema["meta"] == pl.Utf8:
        # meta text must be a JSON object: keys are added to it ({"origin": ...}), and text such
        # as "from reddit" would come out as broken JSON ("" is no meta)
        m = pl.col("meta").str.strip_chars()
        odd = df.select(pl.arg_where(m.is_not_null() & (m != "") & ~(m.str.starts_with("{") & m.str.ends_with("}"))))
        for i in odd.to_series().to_list():
            if i not in reasons:
                reasons[i] = f"wrong type: field 'meta' must hold a JSON object, got text {_show(df['meta'][i])}"
    nulls = df.select(pl.col("instruction").is_null().alias("i"), pl.col("output").is_null().alias("o"))
    for i in nulls.select(pl.arg_where(pl.col("i") | pl.col("o"))).to_series().to_list():
        if i not in reasons:
            ins, out = nulls.row(i)
            reasons[i] = "missing field: " + " ".join(c for c, m in zip(REQUIRED, (ins, out)) if m)
    if not reasons:
        return dataclasses.replace(b, raws=None) if b.raws is not None else b
    bad_idx = sorted(reasons)
    if not quarantine:
        i = bad_idx[0]
        r = reasons[i]
        msg = f"field '{r.split(': ', 1)[1].split()[0]}' is missing or null" if r.startswith("missing field") else r
        raise InputError(f"{b.where(i)}: {msg} (source '{source}'; set `on_error: quarantine` to keep going)")
    keep = pl.Series([i not in reasons for i in range(df.height)])
    bad = [{"file": b.file or source, "line": b.lines[i] if b.lines else i + 1,
            "error": reasons[i],
            "raw": _raw(b, df, i)} for i in bad_idx]
    lines = [n for n, k in zip(b.lines, keep) if k] if b.lines is not None else None
    # (rows are dropped here and perhaps later: the raw texts are not carried further)
    return dataclasses.replace(b, rows=df.filter(keep), bad=b.bad + bad, lines=lines, raws=None)


def _raw(b: Batch, df: pl.DataFrame, i: int) -> str:
    """The row as the file held it (JSON), else its fields as JSON."""
    if b.raws is not None and i < len(b.raws):
        raw = b.raws[i]
        raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return raw.rstrip("\r\n")[:10_000]
    return json.dumps(df.row(i, named=True), default=str, ensure_ascii=False)[:10_000]


def _show(v) -> str:
    text = json.dumps(v, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
