"""Shard writer: Hub-named Parquet shards, zstd, size target and row cap, atomic, deterministic.

    OUT/data/train-00000-of-00003.parquet

Rows are split into train/validation/test by a stable hash of their `id`, so a row
lands in the same split on every run. Order within a split is pipeline order.

Few-shot exemplars: a row whose text and answer another written row shows as a solved
exemplar (the other row's `meta.exemplars` names its `meta.source_row`, same `meta.family`)
is a training row, as in FLAN, whatever its hash says; with it every written row of that
source row (other templates, augmented copies). So no validation or test row is seen, with
its answer, inside a training prompt. `exemplar_split: hash` keeps the hash split (the
crossings are counted in the manifest and warned about).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dataforge.errors import ConfigError
from dataforge.io import atomic
from dataforge.testing.killpoints import killpoint

MB = 1 << 20
SPLIT_COL = "__split"
EXEMPLAR_SPLIT = ("train", "hash")
COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
# Names that become file names (splits, export formats): letters, digits, '_', '-', '.',
# never a path separator or '..', so nothing a recipe names can write outside OUT.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def check_name(name, what: str) -> str:
    """Raise ConfigError unless `name` is safe as a file-name part (no '/', '\\', '..')."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ConfigError(f"{what} {name!r} is not allowed: use letters, digits, '_', '-' and '.' "
                          "(no path separators or '..')")
    return name


def confined(path: Path, root: Path) -> Path:
    """`path` if it lies inside `root` (after resolving links and '..'), else a ConfigError."""
    rp, rr = Path(path).resolve(), Path(root).resolve()
    if rp != rr and rr not in rp.parents:
        raise ConfigError(f"refusing to write {path}: outside the output folder {root}")
    return path


@dataclass
class ShardSpec:
    shard_size_mb: float = 256.0
    max_rows_per_shard: int | None = None
    splits: dict[str, float] = field(default_factory=lambda: {"train": 1.0})
    compression: str = "zstd"
    # "train": rows shown as few-shot exemplars go to the training split; "hash": split by id only
    exemplar_split: str = "train"

    def __post_init__(self):
        if self.exemplar_split not in EXEMPLAR_SPLIT:
            raise ConfigError(f"exemplar_split must be one of {list(EXEMPLAR_SPLIT)}, got {self.exemplar_split!r}")
        if not isinstance(self.splits, dict):
            raise ConfigError(f"output splits must be a mapping of split name to ratio, got {self.splits!r}")
        for name, ratio in self.splits.items():
            check_name(name, "split name")
            if not isinstance(ratio, (int, float)) or isinstance(ratio, bool):
                raise ConfigError(f"output splits: ratio of '{name}' must be a number, got {ratio!r}")
        if self.max_rows_per_shard is not None and (not isinstance(self.max_rows_per_shard, int)
                                                    or isinstance(self.max_rows_per_shard, bool)
                                                    or self.max_rows_per_shard < 1):
            raise ConfigError(f"max_rows_per_shard must be an integer >= 1, got {self.max_rows_per_shard!r}")
        if not self.shard_size_mb > 0:
            raise ConfigError(f"shard_size_mb must be > 0, got {self.shard_size_mb!r}")
        if self.compression not in COMPRESSIONS:
            raise ConfigError(f"compression must be one of {list(COMPRESSIONS)}, got {self.compression!r}")
        total = sum(self.splits.values())
        if not self.splits or abs(total - 1.0) > 1e-6 or any(v < 0 for v in self.splits.values()):
            raise ConfigError(f"output splits must be non-negative ratios summing to 1, got {self.splits}")


def split_expr(splits: dict[str, float]) -> pl.Expr:
    """Stable split assignment: the first 8 hex digits of a hash of `id` as a fraction."""
    # Ids are not always hex (user-supplied ids), so hash them with a stable function.
    u = pl.col("id").map_batches(_stable_fraction, return_dtype=pl.Float64)
    expr = None
    acc = 0.0
    names = list(splits)
    for name in names[:-1]:
        acc += splits[name]
        cond = u < acc
        expr = pl.when(cond).then(pl.lit(name)) if expr is None else expr.when(cond).then(pl.lit(name))
    last = pl.lit(names[-1])
    return (expr.otherwise(last) if expr is not None else last).alias(SPLIT_COL)


def training_split(splits: dict[str, float]) -> str:
    """The split exemplars come from: `train` when there is one, else the first listed."""
    return "train" if "train" in splits else next(iter(splits))


_FK = "__exemplar_key"
_HAS_EXEMPLARS = r'"exemplars"\s*:\s*\['  # (a cheap look before parsing the JSON)


def _exemplar_keys(meta: pl.Series, split: pl.Series, train: str) -> tuple[pl.Series, pl.DataFrame]:
    """(each row's own key `family \x1f source_row`, or null, read only where the row is not in
    `train` (only those can move or cross); one row per exemplar shown: the showing row's
    split `q` and the exemplar's key)."""
    m = pl.DataFrame({"m": meta.cast(pl.Utf8), "q": split})
    fam = pl.col("m").str.json_path_match("$.family").fill_null("")
    idx = (split != train).arg_true()
    own = pl.Series(_FK, [None] * len(split), dtype=pl.Utf8)
    if idx.len():
        own = own.scatter(idx, m[idx].select(pl.concat_str([fam, pl.col("m").str.json_path_match("$.source_row")],
                                                           separator="\x1f")).to_series())
    shows = m.filter(pl.col("m").str.contains(_HAS_EXEMPLARS).fill_null(False)).select(
        "q", fam.alias("f"), pl.col("m").str.json_path_match("$.exemplars").str.json_decode(pl.List(pl.Utf8)).alias("e"))
    uses = shows.explode("e").drop_nulls("e").select("q", pl.concat_str(["f", "e"], separator="\x1f").alias(_FK))
    return own, uses


def assign_splits(parts: list[Path], spec: ShardSpec) -> tuple[list[pl.Series], dict]:
    """Each part's split column, and what few-shot exemplars did to it (for the manifest):
    {"policy", "training_split", "exemplar_uses", "rows_to_train": {split: rows moved},
    "cross_split_uses": exemplar uses whose exemplar row is not a training row and lies in
    another split than the row showing it, after the policy; "cross_split_uses_by_hash": the
    same with the split by id alone}.

    Depends only on the rows (ids and meta), never on how they are cut into parts."""
    only = next(iter(spec.splits))
    if len(spec.splits) == 1:
        return [pl.repeat(only, pq.ParquetFile(p).metadata.num_rows, dtype=pl.Utf8, eager=True).alias(SPLIT_COL)
                for p in parts], {}
    train = training_split(spec.splits)
    split_of, own_keys, uses = [], [], []
    for p in parts:
        cols = ["id"] + (["meta"] if "meta" in pq.read_schema(p).names else [])
        df = pl.read_parquet(p, columns=cols)
        split_of.append(df.select(split_expr(spec.splits)).to_series())
        if "meta" in df.columns:
            own, used = _exemplar_keys(df["meta"], split_of[-1], train)
            own_keys.append(own)
            uses.append(used)
        else:
            own_keys.append(pl.repeat(None, df.height, dtype=pl.Utf8, eager=True).alias(_FK))
    uses = [u for u in uses if u.height]
    if not uses:
        return split_of, {}
    uses_df = pl.concat(uses).with_row_index("u")
    shown = uses_df[_FK].unique()

    def crossings(cols: list[pl.Series]) -> int:
        rows = pl.DataFrame({_FK: pl.concat(own_keys), "s": pl.concat(cols)}).filter(
            pl.col(_FK).is_in(shown.implode()) & (pl.col("s") != train)).unique()
        return uses_df.join(rows, on=_FK).filter(pl.col("q") != pl.col("s"))["u"].n_unique()

    stats: dict = {"policy": spec.exemplar_split, "training_split": train, "exemplar_uses": uses_df.height,
                   "cross_split_uses_by_hash": crossings(split_of)}
    moved: dict[str, int] = {}
    if spec.exemplar_split == "train":
        new = []
        for col, own in zip(split_of, own_keys):
            move = own.is_in(shown.implode()).fill_null(False) & (col != train)
            for name, n in col.filter(move).value_counts().iter_rows():
                moved[name] = moved.get(name, 0) + n
            new.append(pl.select(pl.when(move).then(pl.lit(train)).otherwise(col).alias(SPLIT_COL)).to_series())
        split_of = new
    stats["rows_to_train"] = {k: moved[k] for k in spec.splits if k in moved}
    stats["cross_split_uses"] = crossings(split_of) if moved or spec.exemplar_split == "hash" \
        else stats["cross_split_uses_by_hash"]
    return split_of, stats


def _stable_fraction(ids: pl.Series) -> pl.Series:
    from dataforge import rand

    return pl.Series(rand.uniform(rand.base(ids, 0), "split"), dtype=pl.Float64)


def union_schema(parts: list[Path]) -> pa.Schema:
    """The columns of all parts, each with the one type it is written as (`column_types`)."""
    types = column_types(parts)
    return pa.schema([pa.field(c, _arrow_type(t)) for c, t in types.items()])


def _arrow_type(t: pl.DataType) -> pa.DataType:
    return pl.DataFrame(schema={"c": t}).to_arrow().schema.field("c").type


_INT64 = (-(1 << 63), (1 << 63) - 1)
_EXACT = 1 << 53  # integers a float64 holds exactly


def column_types(parts: list[Path], columns: Iterable[str] | None = None) -> dict[str, pl.DataType]:
    """One type per column over all parts, for columns whose type differs between batches or
    files (a kept column null in one batch and text in the next, int in one file and text in
    another). Null with anything is that type; integers of several widths are Int64 where
    every value fits, else text; integers with floats are Float64 where no integer loses
    precision (|n| <= 2^53), else text; anything else mixed is text, each value written as
    the part held it (numbers as their digits, lists and objects as JSON). Reads only the
    parts' schemas, and a column's min/max where integers meet floats or wider integers."""
    want = set(columns) if columns is not None else None
    seen: dict[str, dict[pl.DataType, list[Path]]] = {}
    for p in parts:
        for c, t in pl.read_parquet_schema(p).items():
            if want is None or c in want:
                seen.setdefault(c, {}).setdefault(t, []).append(p)
    return {c: _common(c, by_type) for c, by_type in seen.items()}


def _common(col: str, by_type: dict[pl.DataType, list[Path]]) -> pl.DataType:
    types = [t for t in by_type if t != pl.Null]
    if not types:
        return pl.Null
    if len(types) == 1:
        return types[0]
    if all(t.is_integer() or t.is_float() for t in types):
        ints = [t for t in types if t.is_integer()]
        lo, hi = _int_range(col, [p for t in ints for p in by_type[t]]) if ints else (0, 0)
        if not any(t.is_float() for t in types):
            return pl.Int64 if _INT64[0] <= lo and hi <= _INT64[1] else pl.Utf8
        return pl.Float64 if -_EXACT <= lo and hi <= _EXACT else pl.Utf8
    return pl.Utf8


def _int_range(col: str, parts: list[Path]) -> tuple[int, int]:
    lo, hi = 0, 0
    for p in parts:
        mn, mx = pl.scan_parquet(p).select(pl.col(col).min().alias("lo"),
                                           pl.col(col).max().alias("hi")).collect().row(0)
        if mn is not None:
            lo, hi = min(lo, mn), max(hi, mx)
    return lo, hi


def cast_to(df: pl.DataFrame, types: dict[str, pl.DataType]) -> pl.DataFrame:
    """`df` with each column in `types` as that type (see `column_types`)."""
    exprs = []
    for c, t in types.items():
        have = df.schema.get(c)
        if have is None or have == t:
            continue
        if t == pl.Utf8 and (have.is_nested() or isinstance(have, pl.Struct)):
            # lists and objects as their JSON text; null stays null
            enc = pl.struct(pl.col(c).alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
            exprs.append(pl.when(pl.col(c).is_null()).then(None).otherwise(enc).alias(c))
        else:
            exprs.append(pl.col(c).cast(t).alias(c))
    return df.with_columns(exprs) if exprs else df


def write_shards(parts: list[Path], out_dir: Path, spec: ShardSpec,
                 transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
                 columns: Iterable[str] | None = None, schema: pa.Schema | None = None,
                 root: Path | None = None, split_of: list[pl.Series] | None = None) -> list[dict]:
    """Write checkpoint parts as shards; return [{path, split, rows, bytes, sha256}].

    `out_dir` must lie inside `root` when given (the run's OUT). `split_of`: each part's split
    column from `assign_splits` (computed here when not given)."""
    if root is not None:
        confined(out_dir, root)
    for name in spec.splits:
        check_name(name, "split name")
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic.clean_tmp(out_dir)

    # pass 1: each row's split, from the `id` (and `meta`) columns only
    if split_of is None:
        split_of = assign_splits(parts, spec)[0]
    counts: dict[str, int] = {s: 0 for s in spec.splits}
    for col in split_of:
        for name, n in col.value_counts().iter_rows():
            counts[name] += n
    total_rows = sum(len(c) for c in split_of)

    # a column whose type differs between parts (batches, files) is written as one type
    # (and a column some parts lack is null there), so every shard has one schema
    types = column_types(parts, columns)
    names = [c for c in columns if c in types] if columns is not None else list(types)

    def frames() -> Iterable[pl.DataFrame]:
        for p, split_col in zip(parts, split_of):
            df = cast_to(pl.read_parquet(p), types)
            yield df.select([pl.col(c) if c in df.columns else pl.lit(None, dtype=types[c]).alias(c)
                             for c in names]).with_columns(split_col)

    # shard plan: an estimate of bytes per row from the checkpoint sizes
    total_bytes = sum(os.path.getsize(p) for p in parts)
    bytes_per_row = total_bytes / total_rows if total_rows else 0

    plan: dict[str, tuple[int, int]] = {}  # split -> (n_shards, rows per shard)
    for name, n in counts.items():
        if n == 0:
            continue
        by_size = math.ceil(n * bytes_per_row / (spec.shard_size_mb * MB)) if bytes_per_row else 1
        by_rows = math.ceil(n / spec.max_rows_per_shard) if spec.max_rows_per_shard else 1
        shards = max(1, by_size, by_rows)
        per = math.ceil(n / shards)
        plan[name] = (math.ceil(n / per), per)

    # pass 2: stream rows into shards of fixed row counts; the first batch fixes the schema
    writers: dict[str, _ShardStream] = {
        name: _ShardStream(out_dir, name, n, per, spec.compression) for name, (n, per) in plan.items()
    }
    from dataforge.engine.overlap import prefetch

    dictionary: list[str] | None = None
    for df in prefetch(frames()):  # (the next part is read while this one is written)
        if transform is not None:
            split_col = df[SPLIT_COL]
            df = transform(df.drop(SPLIT_COL)).with_columns(split_col.alias(SPLIT_COL))
        if dictionary is None:
            dictionary, statistics = column_options(df.drop(SPLIT_COL))
            for w in writers.values():
                w.dictionary, w.statistics = dictionary, statistics
        batch_schema = df.head(0).to_arrow().schema  # (the schema only: no copy of the rows)
        if schema is None:
            schema = batch_schema.remove(batch_schema.get_field_index(SPLIT_COL))
        else:
            schema = pa.schema([schema.field(n) if n in schema.names else batch_schema.field(n)
                                for n in batch_schema.names if n != SPLIT_COL])
        for name in plan:
            sub = df.filter(pl.col(SPLIT_COL) == name).drop(SPLIT_COL)
            if sub.height:
                writers[name].write(sub.to_arrow().cast(schema) if schema else sub.to_arrow())
    shards = []
    for w in writers.values():
        shards += w.close()
    keep = {s["path"] for s in shards}
    for old in out_dir.glob("*.parquet"):  # shards of an earlier run with another layout
        if old.name not in keep:
            old.unlink()
    return shards


def column_options(df: pl.DataFrame, sample: int = 10_000, share: float = 0.2) -> tuple[list[str], list[str]]:
    """(dictionary, statistics): the flat columns worth dictionary pages and min/max statistics.

    Dictionary pages: few distinct values in the first rows (source, task, lang, split labels).
    pyarrow builds a dictionary for every column by default and drops it when it grows too big;
    on long unique texts that build-and-drop was a third of the write. Statistics: every flat
    column but free text, whose min/max (whole strings, in the footer) no reader filters on;
    they were another fifth of the write on 1M rows."""
    head = df.head(sample)
    flat = [c for c, t in head.schema.items() if not t.is_nested()]
    if not flat or head.height == 0:
        return [], flat
    distinct = head.select(pl.col(flat).n_unique()).row(0)
    few = [c for c, n in zip(flat, distinct) if n <= max(1, share * head.height)]
    text = {c for c, t in head.schema.items() if t == pl.Utf8 and c not in few}
    return few, [c for c in flat if c not in text]


class _ShardStream:
    def __init__(self, out_dir: Path, split: str, n: int, per: int, compression: str):
        self.out_dir, self.split, self.n, self.per, self.compression = out_dir, split, n, per, compression
        self.index = 0
        self.rows_in_current = 0
        self.writer: pq.ParquetWriter | None = None
        self.tmp: Path | None = None
        self.done: list[dict] = []
        # pyarrow's defaults until write_shards picks the columns (column_options)
        self.dictionary: list[str] | bool = True
        self.statistics: list[str] | bool = True

    def name(self, i: int) -> str:
        return f"{self.split}-{i:05d}-of-{self.n:05d}.parquet"

    def write(self, table: pa.Table) -> None:
        while table.num_rows:
            if self.writer is None:
                self.tmp = self.out_dir / f".{self.name(self.index)}{atomic.TMP_SUFFIX}"
                self.writer = pq.ParquetWriter(self.tmp, table.schema, compression=self.compression,
                                               use_dictionary=self.dictionary,
                                               write_statistics=self.statistics)
                self.rows_in_current = 0
            room = self.per - self.rows_in_current
            chunk = table.slice(0, room)
            self.writer.write_table(chunk)
            self.rows_in_current += chunk.num_rows
            table = table.slice(chunk.num_rows)
            if self.rows_in_current >= self.per and self.index < self.n - 1:
                self._finish()

    def _finish(self) -> None:
        assert self.writer is not None and self.tmp is not None
        self.writer.close()
        final = self.out_dir / self.name(self.index)
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, final)
        killpoint("shard_written")
        self.done.append({"path": final.name, "split": self.split, "rows": self.rows_in_current,
                          "bytes": final.stat().st_size, "sha256": atomic.sha256_file(final)})
        self.writer = None
        self.index += 1

    def close(self) -> list[dict]:
        if self.writer is not None:
            self._finish()
        return self.done
