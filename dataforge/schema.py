"""The record contract: canonical columns, their Arrow/Polars types, validation, ids and meta.

Every operator reads and writes these columns (DESIGN.md, "One row, one example").
Scores are extra `score_*` float64 columns.
"""
from __future__ import annotations

import json
from typing import Iterable, Mapping

import polars as pl
import pyarrow as pa

from dataforge import hashing
from dataforge.errors import SchemaError

# column -> (polars dtype, nullable, default for rows that lack the column)
CANONICAL: dict[str, tuple[pl.DataType, bool, object]] = {
    "id": (pl.Utf8, False, None),
    "instruction": (pl.Utf8, False, None),
    "input": (pl.Utf8, False, ""),
    "output": (pl.Utf8, False, None),
    "system": (pl.Utf8, True, None),
    "task": (pl.Utf8, False, "unknown"),
    "source": (pl.Utf8, False, "unknown"),
    "lang": (pl.Utf8, False, "en"),
    "parent_id": (pl.Utf8, True, None),
    "meta": (pl.Utf8, False, "{}"),
}
COLUMNS: tuple[str, ...] = tuple(CANONICAL)
SCORE_PREFIX = "score_"
# Internal columns the engine uses to route rejects; never written to shards.
REJECT = "_reject"
REJECT_DETAIL = "_reject_detail"
ID_FIELDS = ("instruction", "input", "output", "system")


def arrow_schema(extra_scores: Iterable[str] = ()) -> pa.Schema:
    fields = [pa.field(c, pa.string(), nullable=n) for c, (_, n, _) in CANONICAL.items()]
    fields += [pa.field(s, pa.float64()) for s in extra_scores]
    return pa.schema(fields)


def is_score(col: str) -> bool:
    return col.startswith(SCORE_PREFIX)


def _hash_rows(cols: list[pl.Series]) -> pl.Series:
    # XXH3-128 over \x1f-joined fields (dataforge.hashing: stable across Polars versions,
    # unlike pl.hash). The join is one Polars expression, the hash vectorised where it can be.
    if not cols:
        return pl.Series("id", [], dtype=pl.Utf8)
    keys = pl.DataFrame([c.cast(pl.Utf8).fill_null("\x00").alias(f"c{i}") for i, c in enumerate(cols)]) \
        .select(pl.concat_str(pl.all(), separator="\x1f")).to_series()
    return hashing.hex_ids(keys)


def content_id(df: pl.DataFrame, fields: Iterable[str] = ID_FIELDS) -> pl.Series:
    """Stable id of each row: a hash of its content (the fields present)."""
    cols = [df[f] for f in fields if f in df.columns]
    if not cols:  # raw rows: hash every column's JSON form (not where the row was read)
        cols = [df.select(pl.struct(pl.exclude(ORIGIN)).struct.json_encode()).to_series()]
    return _hash_rows(cols)


def validate(df: pl.DataFrame | pa.Table, source: str, *, require_all: bool = True) -> None:
    """Raise SchemaError naming the column, expected and actual type, and the source."""
    schema = df.schema if isinstance(df, pl.DataFrame) else pl.from_arrow(df.slice(0, 0)).schema
    missing = [c for c in COLUMNS if c not in schema]
    if missing and require_all:
        raise SchemaError(
            f"{source}: missing canonical column(s) {missing}; present: {list(schema)}"
        )
    for col, (dtype, nullable, _) in CANONICAL.items():
        if col not in schema:
            continue
        actual = schema[col]
        if actual != dtype and actual != pl.Null:
            raise SchemaError(
                f"{source}: column '{col}' must be {dtype} (Arrow string), got {actual}"
            )
        if not nullable and isinstance(df, pl.DataFrame) and df[col].null_count():
            first = df[col].is_null().arg_max()
            raise SchemaError(f"{source}: column '{col}' may not be null (first null at row {first})")
    for col, actual in schema.items():
        if is_score(col) and not actual.is_numeric():
            raise SchemaError(f"{source}: score column '{col}' must be float64, got {actual}")


def has_record_columns(columns: Iterable[str]) -> bool:
    cols = set(columns)
    return "instruction" in cols and "output" in cols


def conform(df: pl.DataFrame, *, source: str, defaults: Mapping[str, object] | None = None,
            keep: Iterable[str] = ()) -> pl.DataFrame:
    """Fill missing canonical columns, cast types, compute ids; keep score_* and `keep` columns.

    Rows without instruction/output (raw NLP data waiting for `convert`) are returned
    unchanged except for an `id`, so raw fields reach the operators that need them.
    """
    defaults = dict(defaults or {})
    if "id" not in df.columns or df["id"].null_count():
        ids = content_id(df)
        df = df.with_columns(pl.coalesce(pl.col("id").cast(pl.Utf8), ids) if "id" in df.columns else ids)
    if not has_record_columns(df.columns):
        return df.with_columns(pl.col("id").cast(pl.Utf8))
    exprs = []
    for col, (dtype, _nullable, default) in CANONICAL.items():
        value = defaults.get(col, default)
        if col in df.columns:
            e = pl.col(col)
            if df.schema[col] != dtype:
                e = e.cast(dtype)
            if value is not None:
                e = e.fill_null(pl.lit(value, dtype=dtype))
            if col == "meta" and df.schema[col] == pl.Utf8:  # blank meta (an empty CSV cell) is no meta
                e = pl.when(e.str.strip_chars() == "").then(pl.lit("{}")).otherwise(e)
            exprs.append(e.alias(col))
        else:
            exprs.append(pl.lit(value, dtype=dtype).alias(col))
    if "meta" in df.columns and df.schema["meta"] not in (pl.Utf8, pl.Null):
        exprs[COLUMNS.index("meta")] = pl.col("meta").struct.json_encode().alias("meta")
    keep = set(keep)
    extra = [pl.col(c).cast(pl.Float64) for c in df.columns if is_score(c)]
    extra += [pl.col(c) for c in df.columns if c in keep and c not in CANONICAL and not is_score(c)]
    extra += [pl.col(c) for c in (REJECT, REJECT_DETAIL) if c in df.columns]
    return df.select(exprs + extra)


class RawJson:
    """A meta_set value that already holds JSON text (an object, say): inserted as it is, and
    the key left out on rows where it is null."""

    def __init__(self, expr: pl.Expr):
        self.expr = expr


def meta_set(meta: pl.Expr, **values: pl.Expr | RawJson | str | int | float | bool | None) -> pl.Expr:
    """Add keys to the JSON object in `meta`, vectorised (no per-row JSON parsing).

    Values are Polars expressions (strings are JSON-quoted), `RawJson` or Python literals.
    """
    parts: list[pl.Expr] = []
    for key, value in values.items():
        if isinstance(value, RawJson):
            parts.append(pl.concat_str([pl.lit(f",{json.dumps(key)}:"), value.expr]).fill_null(""))
            continue
        if isinstance(value, pl.Expr):
            enc = pl.struct(value.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
        else:
            enc = pl.lit(json.dumps(value))
        parts += [pl.lit(f",{json.dumps(key)}:"), enc]
    body = meta.fill_null("{}").str.strip_chars().str.strip_suffix("}")
    added = pl.concat_str(parts) if parts else pl.lit("")
    # "{}" + ',"k":v' must become '{"k":v}': drop the comma after an empty object
    joined = pl.concat_str([body, added, pl.lit("}")]).str.replace(r"^\{,", "{")
    if not values:
        return joined
    # a key the row's meta already has (a rewrite of a generated row sets model, sampling and
    # seed again): appending it would write the key twice, and JSON readers keep the last.
    # Those rows are parsed (only they) and the earlier values kept under EARLIER.
    may_clash = pl.any_horizontal([meta.fill_null("").str.contains(json.dumps(k) + ":", literal=True)
                                   for k in values])
    # (named as `meta` is: the first expression names the result)
    return pl.map_batches([joined, may_clash], _nest_earlier_values, return_dtype=pl.Utf8, is_elementwise=True)


EARLIER = "earlier"  # meta key: values of keys a later step set again, as they were before it


class _Pairs(list):
    pass


def _nest_earlier_values(s: list[pl.Series]) -> pl.Series:
    """meta texts with duplicate top-level keys -> one object: the last value of each key
    stays, the earlier ones move under `earlier` (which nests an `earlier` already there)."""
    m, clash = s
    idx = clash.fill_null(False).arg_true()
    if idx.len() == 0:
        return m
    texts = m.to_list()
    for i in idx.to_list():
        t = texts[i]
        if t is None:
            continue
        pairs = json.loads(t, object_pairs_hook=_Pairs)
        if not isinstance(pairs, _Pairs) or len({k for k, _ in pairs}) == len(pairs):
            continue
        last: dict = {}
        before: dict = {}
        for k, v in pairs:
            if k in last:
                before[k] = last.pop(k)
            last[k] = v
        if EARLIER in last and EARLIER not in before:
            before[EARLIER] = last.pop(EARLIER)
        last[EARLIER] = before
        texts[i] = json.dumps(_as_dicts(last), ensure_ascii=False, separators=(",", ":"))
    return pl.Series(m.name, texts, dtype=pl.Utf8)


def _as_dicts(v):
    if isinstance(v, _Pairs):
        return {k: _as_dicts(x) for k, x in v}
    if isinstance(v, dict):
        return {k: _as_dicts(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_as_dicts(x) for x in v]
    return v


# -- provenance ------------------------------------------------------------------------
ORIGIN = "_origin"  # JSON text of where a read row came from, until it reaches `meta`


def add_origin(df: pl.DataFrame, origin: pl.Series) -> pl.DataFrame:
    """Record each row's input position as `meta.origin`. A row whose meta already holds an
    `origin` (output of an earlier dataforge run, read again) keeps it: the first read is the
    provenance that matters."""
    if (df["meta"] == "{}").all():  # no input meta: one concatenation, a fifth of meta_set's time
        return df.with_columns(pl.concat_str([pl.lit('{"origin":'), pl.lit(origin), pl.lit("}")]).alias("meta"))
    meta = pl.col("meta")
    added = meta_set(meta, origin=RawJson(pl.lit(origin)))
    if df["meta"].str.contains('"origin"', literal=True).any():
        had = meta.str.json_path_match("$.origin").is_not_null()
        added = pl.when(had).then(meta).otherwise(added)
    return df.with_columns(added.alias("meta"))
