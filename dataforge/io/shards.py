"""Shard writer: Hub-named Parquet shards, zstd, size target and row cap, atomic, deterministic.

    OUT/data/train-00000-of-00003.parquet

Rows are split into train/validation/test by a stable hash of a key, so a row lands in the
same split on every run. Order within a split is pipeline order. The key (`split_by: lineage`,
the default) is the root of the row's lineage: a derived row (another template's rendering of
the same raw row, an augmented copy, an evolved instruction) follows `parent_id` through the
written rows to the first id that is not itself a written row with a parent, so every row
derived from one example lands in one split, as FLAN and PromptSource hold out by example,
not by rendering. Split by its own id, a validation row's paraphrase would be a training row.
A row without `parent_id` is its own root, so it keeps the split of its id.
`split_by: id` hashes each row's own id.

Few-shot exemplars: a row whose text and answer another written row shows as a solved
exemplar (the other row's `meta.exemplars` names its `meta.source_row`, same `meta.family`)
is a training row, as in FLAN, whatever its hash says; with it every written row of that
source row (other templates, augmented copies) and, split by lineage, every row of its
lineage. So no validation or test row is seen, with its answer, inside a training prompt.
`exemplar_split: hash` keeps the hash split (the crossings are counted in the manifest and
warned about).
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
SPLIT_BY = ("lineage", "id")
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
    # "lineage": a derived row takes the split of its lineage's root (see the module docstring);
    # "id": each row by its own id
    split_by: str = "lineage"

    def __post_init__(self):
        if self.split_by not in SPLIT_BY:
            raise ConfigError(f"split_by must be one of {list(SPLIT_BY)}, got {self.split_by!r}")
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
    """Stable split assignment: the first 8 hex digits of a hash of `id` as a fraction (the
    row's own id, or its lineage key from `lineage_keys` in an `id` column)."""
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


def lineage_keys(ids: pl.Series, parents: pl.Series | None) -> tuple[pl.Series, int]:
    """(each row's split key, rows left on their own id because their `parent_id` chain loops).

    The key is the root of the row's lineage among the rows given: a row without a parent
    (null, "" or its own id) is keyed by its id; a row whose parent is not among the rows (a
    raw source row, a parent dropped by dedup) by the parent's id, so sibling renderings and
    copies share it; a row whose parent is among them by that parent's key, to a fixpoint.
    Vectorised: pointer doubling over the rows that have parents (a chain of depth d takes
    about log2(d) joins). Depends on the set of rows only, not their order: an id written twice
    with different parents resolves through the least of them. A chain that loops (only
    user-supplied ids can) has no root: its rows keep their own id."""
    ids = ids.cast(pl.Utf8).rename("id")
    if parents is None:
        return ids, 0
    rows = pl.DataFrame({"id": ids, "p": parents.cast(pl.Utf8)}).with_columns(
        pl.when((pl.col("p") == "") | (pl.col("p") == pl.col("id"))).then(None).otherwise(pl.col("p")).alias("p"))
    if rows["p"].null_count() == rows.height:
        return ids, 0
    # written rows with a parent, one pointer per id: the nodes a chain passes through;
    # `on`: the pointer is itself such a node, so the root lies further up
    ptr = rows.drop_nulls("p").group_by("id").agg(pl.col("p").min().alias("ptr"))
    ptr = ptr.join(ptr.select(pl.col("id").alias("ptr"), pl.lit(True).alias("on")), on="ptr", how="left") \
        .with_columns(pl.col("on").fill_null(False))
    live, done = ptr.filter("on"), [ptr.filter(~pl.col("on"))]
    # pointer doubling: after r rounds each pointer is 2^r steps up, and an acyclic chain has at
    # most len(ptr) steps (joins, not is_in: is_in on millions of strings was 10x slower)
    for _ in range(max(1, math.ceil(math.log2(ptr.height + 1))) + 1):
        if not live.height:
            break
        live = live.join(pl.concat([*done, live]), left_on="ptr", right_on="id", suffix="_up") \
            .select("id", pl.col("ptr_up").alias("ptr"), pl.col("on_up").alias("on"))
        done.append(live.filter(~pl.col("on")))
        live = live.filter("on")
    keys = rows.join(pl.concat(done).drop("on"), left_on="p", right_on="id", how="left", maintain_order="left") \
        .select(pl.coalesce("ptr", "p", "id").alias("id")).to_series()
    if not live.height:
        return keys, 0
    loop = rows["p"].is_in(live["id"].implode()).fill_null(False)  # (nodes still live: a loop)
    return pl.select(pl.when(loop).then(rows["id"]).otherwise(keys).alias("id")).to_series(), int(loop.sum())


def _through_dropped_renderings(keys: pl.Series, ids: pl.Series, parents: pl.Series, parts: list[Path],
                                has_meta: list[bool]) -> pl.Series:
    """Keys of rows derived from a converted row that was not written (a rendering a filter or
    dedup dropped after an augmenter copied it): `lineage_keys` stops at that rendering's id, so
    the copy could land in another split than its raw row's other renderings. Such a copy still
    carries the rendering's `meta.family` and `meta.source_row` (convert writes them; later steps
    keep them): its whole lineage takes the key of a written rendering of the same raw row, else
    the raw row's key (`source_row`). A key is such a dropped rendering's id when it is neither
    the raw row its rows' `source_row` names (`source_row` is the raw id, or `id#k` for the k-th
    instance of a raw row holding several) nor a row's own id (a parent loop). Read once per key,
    not per row: every row of a lineage carries the same `source_row`."""
    if not any(has_meta):
        return keys
    meta = pl.concat([pl.read_parquet(p, columns=["meta"])["meta"].cast(pl.Utf8) if m
                      else pl.repeat(None, pq.ParquetFile(p).metadata.num_rows, dtype=pl.Utf8, eager=True)
                      for p, m in zip(parts, has_meta)])
    has_parent = parents.is_not_null() & (parents != "") & (parents != ids)
    at = (has_parent & (keys != ids) & meta.str.contains('"source_row"', literal=True).fill_null(False)).arg_true()
    if not at.len():
        return keys
    first = pl.DataFrame({"k": keys.gather(at), "i": at}).group_by("k").agg(pl.col("i").min())
    m = meta.gather(first["i"])
    per_key = first.with_columns(m.str.json_path_match("$.source_row").alias("s"),
                                 m.str.json_path_match("$.family").fill_null("").alias("f")).drop_nulls("s")
    per_key = per_key.with_columns(((pl.col("k") == pl.col("s")) | pl.col("s").str.starts_with(pl.col("k") + "#"))
                                   .alias("ok"))
    orphans = per_key.filter(~pl.col("ok"))
    if not orphans.height:
        return keys
    # a written rendering's key for its (family, raw row); the least when several (order-free)
    known = per_key.filter("ok").group_by("f", "s").agg(pl.col("k").min().alias("to"))
    moved = orphans.join(known, on=["f", "s"], how="left").select("k", pl.coalesce("to", "s").alias("to"))
    return keys.replace(moved["k"], moved["to"])


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


def assign_splits(parts: list[Path], spec: ShardSpec) -> tuple[list[pl.Series], dict, dict]:
    """Each part's split column, what few-shot exemplars did to it and what lineage did to it
    (both for the manifest).

    Exemplars: {"policy", "training_split", "exemplar_uses", "rows_to_train": {split: rows
    moved}, "cross_split_uses": exemplar uses whose exemplar row is not a training row and lies
    in another split than the row showing it, after the policy; "cross_split_uses_by_hash": the
    same with the split by hash alone (of the lineage key or id, see `split_by`)}; {} when no
    row shows exemplars. With `split_by: lineage` a moved row takes its whole lineage along.

    Lineage: {"policy": split_by} and, with more than one split and `lineage`,
    "rows_moved_by_lineage": {split by own id: {split by lineage: rows}} (rows whose lineage
    put them elsewhere than their own id would), plus "rows_in_parent_loops" when some
    `parent_id` chain loops (those rows keep their own id's split).

    Depends only on the rows (ids, parent ids and meta), never on how they are cut into parts."""
    only = next(iter(spec.splits))
    lineage_stats: dict = {"policy": spec.split_by}
    if len(spec.splits) == 1:
        return [pl.repeat(only, pq.ParquetFile(p).metadata.num_rows, dtype=pl.Utf8, eager=True).alias(SPLIT_COL)
                for p in parts], {}, lineage_stats
    train = training_split(spec.splits)
    lineage = spec.split_by == "lineage"
    # pass 1: each row's split key, over all parts at once (a parent may be in another part)
    ids, parents, has_meta = [], [], []
    for p in parts:
        names = pq.read_schema(p).names
        with_parent = lineage and "parent_id" in names
        df = pl.read_parquet(p, columns=["id"] + (["parent_id"] if with_parent else []))
        ids.append(df["id"].cast(pl.Utf8))
        parents.append(df["parent_id"].cast(pl.Utf8) if with_parent else pl.repeat(None, df.height, dtype=pl.Utf8,
                                                                                     eager=True))
        has_meta.append("meta" in names)
    keys_of = ids
    if lineage and any(p.null_count() < len(p) for p in parents):
        all_keys, looped = lineage_keys(pl.concat(ids), pl.concat(parents))
        all_keys = _through_dropped_renderings(all_keys, pl.concat(ids), pl.concat(parents), parts, has_meta)
        bounds = [0]
        for i in ids:
            bounds.append(bounds[-1] + len(i))
        keys_of = [all_keys.slice(a, b - a) for a, b in zip(bounds, bounds[1:])]
        if looped:
            lineage_stats["rows_in_parent_loops"] = looped
    del parents
    split_of = [pl.DataFrame({"id": k}).select(split_expr(spec.splits)).to_series() for k in keys_of]
    if lineage:
        # what lineage changed, against the split by own id (hashed only where the key differs)
        moved: dict[str, dict[str, int]] = {}
        for i, k, col in zip(ids, keys_of, split_of):
            if k is i:
                continue
            at = (k != i).arg_true()
            if not at.len():
                continue
            by_id = pl.DataFrame({"id": i.gather(at)}).select(split_expr(spec.splits)).to_series()
            ch = pl.DataFrame({"a": by_id, "b": col.gather(at)}).filter(pl.col("a") != pl.col("b"))
            for a, b, n in ch.group_by("a", "b").len().iter_rows():
                to = moved.setdefault(a, {})
                to[b] = to.get(b, 0) + n
        lineage_stats["rows_moved_by_lineage"] = {a: {b: moved[a][b] for b in spec.splits if b in moved[a]}
                                                  for a in spec.splits if a in moved}
    # pass 2: few-shot exemplars, from `meta`
    own_keys, uses = [], []
    for p, col, meta in zip(parts, split_of, has_meta):
        if meta:
            own, used = _exemplar_keys(pl.read_parquet(p, columns=["meta"])["meta"], col, train)
            own_keys.append(own)
            uses.append(used)
        else:
            own_keys.append(pl.repeat(None, len(col), dtype=pl.Utf8, eager=True).alias(_FK))
    uses = [u for u in uses if u.height]
    if not uses:
        return split_of, {}, lineage_stats
    uses_df = pl.concat(uses).with_row_index("u")
    shown = uses_df[_FK].unique()

    def crossings(cols: list[pl.Series]) -> int:
        rows = pl.DataFrame({_FK: pl.concat(own_keys), "s": pl.concat(cols)}).filter(
            pl.col(_FK).is_in(shown.implode()) & (pl.col("s") != train)).unique()
        return uses_df.join(rows, on=_FK).filter(pl.col("q") != pl.col("s"))["u"].n_unique()

    stats: dict = {"policy": spec.exemplar_split, "training_split": train, "exemplar_uses": uses_df.height,
                   "cross_split_uses_by_hash": crossings(split_of)}
    moved_rows: dict[str, int] = {}
    if spec.exemplar_split == "train":
        moves = [own.is_in(shown.implode()).fill_null(False) & (col != train) for col, own in zip(split_of, own_keys)]
        if keys_of is not ids:
            # a moved row takes its lineage along: no paraphrase of a training row stays held out
            group = pl.concat([k.filter(m) for k, m in zip(keys_of, moves)]).unique().implode()
            moves = [m | (k.is_in(group) & (col != train)) for k, m, col in zip(keys_of, moves, split_of)]
        new = []
        for col, move in zip(split_of, moves):
            for name, n in col.filter(move).value_counts().iter_rows():
                moved_rows[name] = moved_rows.get(name, 0) + n
            new.append(pl.select(pl.when(move).then(pl.lit(train)).otherwise(col).alias(SPLIT_COL)).to_series())
        split_of = new
    stats["rows_to_train"] = {k: moved_rows[k] for k in spec.splits if k in moved_rows}
    stats["cross_split_uses"] = crossings(split_of) if moved_rows or spec.exemplar_split == "hash" \
        else stats["cross_split_uses_by_hash"]
    return split_of, stats, lineage_stats


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

    # pass 1: each row's split, from the `id` (`parent_id`, `meta`) columns only
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
