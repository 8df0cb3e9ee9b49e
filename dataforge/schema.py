"""The record contract: canonical columns, their Arrow/Polars types, validation, ids and meta.

Every operator reads and writes these columns (DESIGN.md, "One row, one example").
Scores are extra `score_*` float64 columns.
"""
from __future__ import annotations

import functools
import json
import re
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
        cols = [df.select(pl.struct(pl.exclude(ORIGIN, SOURCE_NAME)).struct.json_encode()).to_series()]
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
    """Add keys to the JSON object in `meta`, vectorised (only rows that already hold a key are parsed).

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
    # a key the row's meta already has at its top level would be written twice (JSON readers
    # keep the last): only rows whose text holds the key are parsed, and those that have it
    # keep the earlier value under EARLIER. (Steps that write provenance move the previous
    # step's first: nest_step_provenance.)
    may_clash = meta.fill_null("").str.contains(_any_key(values))
    # (named as `meta` is: the first expression names the result)
    return pl.map_batches([joined, may_clash, meta], functools.partial(_nest_duplicate_keys, keys=tuple(values)),
                          return_dtype=pl.Utf8, is_elementwise=True)


def _any_key(keys) -> str:
    """A regex for any of `keys` written as a JSON key (one pass over the text)."""
    return "(?:" + "|".join(re.escape(json.dumps(k)) for k in keys) + r")\s*:"


EARLIER = "earlier"  # meta key: what an earlier step wrote under keys a later step writes again

# the keys a step that writes text records about itself (generators, `respond`, augmenters:
# generate/provenance.py, ops/base_augment.py); convert's template keys describe the row's
# form and stay where they are
STEP_KEYS = ("generator", "augmenter", "respond", "backend", "model", "revision", "sampling", "seed",
             "variant", "params", "field", "synonyms", "prompt_variant", "round", "evolution", "root_id")


def nest_step_provenance(meta: pl.Expr) -> pl.Expr:
    """Before a step writes its provenance on a row another step already wrote: move all of
    that step's keys (STEP_KEYS present at the top level) under `earlier`, nesting an
    `earlier` already there, so each level of `earlier` holds one step's whole record."""
    may = meta.fill_null("").str.contains(_any_key(STEP_KEYS))
    return pl.map_batches([meta, may], _nest_step, return_dtype=pl.Utf8, is_elementwise=True)


def _broadcast(s: list[pl.Series]) -> list[pl.Series]:
    """Series of one value (a literal meta or flag) repeated to the others' length."""
    n = max(x.len() for x in s)
    return [pl.repeat(x[0], n, eager=True).alias(x.name) if x.len() == 1 and n > 1 else x for x in s]


def _load(text: str | None) -> dict | None:
    """A meta text as a dict, or None when it is no JSON object (the text is then left as it
    is: the input check judges meta, not this)."""
    if text is None:
        return None
    try:
        d = json.loads(text)
    except ValueError:
        return None
    return d if isinstance(d, dict) else None


def _dump(d: dict) -> str:
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _push_earlier(d: dict, moved: dict) -> str:
    """`d` with `moved` (what a step overwrites) under `earlier`, which nests an `earlier`
    already there, as meta text."""
    if EARLIER in d and EARLIER not in moved:
        moved[EARLIER] = d[EARLIER]
    out = {k: v for k, v in d.items() if k != EARLIER}
    out[EARLIER] = moved
    return _dump(out)


def _rewrite_flagged(texts: pl.Series, flag: pl.Series, fix) -> pl.Series:
    """`fix(i, text)` (a new text, or None to keep it) on the flagged rows only."""
    idx = flag.fill_null(False).arg_true().to_list()
    if not idx:
        return texts
    out = texts.to_list()
    for i in idx:
        new = fix(i, out[i])
        if new is not None:
            out[i] = new
    return pl.Series(texts.name, out, dtype=pl.Utf8)


def _nest_duplicate_keys(s: list[pl.Series], keys: tuple[str, ...]) -> pl.Series:
    """Rows whose meta already had one of `keys` at its top level: one object, the new value in
    the key's place, the old ones under `earlier`. Only flagged rows are parsed (the flag also
    fires on a key nested deeper, which is no clash)."""
    joined, flag, meta = _broadcast(s)
    metas: list[list] = []  # the old texts as a list, made on the first flagged row only

    def fix(i: int, text: str) -> str | None:
        if not metas:
            metas.append(meta.to_list())
        old = _load(metas[0][i])
        clash = [k for k in keys if old is not None and k in old]
        new = _load(text) if clash else None  # (a key written twice: json keeps the last, the new value)
        if new is None:
            return None
        return _push_earlier(new, {k: old[k] for k in clash})

    return _rewrite_flagged(joined.alias(s[0].name), flag, fix)


def _nest_step(s: list[pl.Series]) -> pl.Series:
    meta, flag = _broadcast(s)

    def fix(_: int, text: str) -> str | None:
        d = _load(text)
        step = {k: d[k] for k in STEP_KEYS if k in d} if d is not None else None
        if not step:
            return None
        return _push_earlier({k: v for k, v in d.items() if k not in step}, step)

    return _rewrite_flagged(meta.alias(s[0].name), flag, fix)


# -- provenance ------------------------------------------------------------------------
ORIGIN = "_origin"  # JSON text of where a read row came from, until it reaches `meta`
SOURCE_NAME = "_source"  # the source a raw row was read from, until `convert` makes it a record


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
