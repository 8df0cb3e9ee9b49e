"""The cache `dataforge explore` answers from: built once per run, reused until a shard changes.

    OUT/.explore/rows-KEY.arrow    every row of the shards and rejects, in one uncompressed Arrow IPC
                                   file, opened memory-mapped (zero-copy): a page is a gather of 50
                                   row numbers, a text search scans the text columns in place
    OUT/.explore/index-KEY.arrow   the small filter and sort columns (id, status, source, task, split,
                                   lang, reject rule, parent_id, kept id of a dropped duplicate, scores),
                                   held in memory; index row i is rows row i

KEY hashes each file's path, status, split, size and modification time (and the format version),
so a run that is resumed, re-run or edited gets a fresh cache; old ones are removed. Both files are
written atomically (rows first, then index: an index file means a complete cache). Where OUT is
not writable the cache goes to the temporary folder. The rows file holds the run uncompressed
(8x the zstd shards in the benchmark): the page cache, not the process heap, keeps it, and only the pages a
query touches are read.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dataforge.io.atomic import TMP_SUFFIX, atomic_path
from dataforge.schema import is_score

VERSION = 2
CACHE = ".explore"
BATCH = 65_536  # rows read from Parquet at a time while building: bounds the build's memory
CATEGORICAL = ("status", "source", "task", "split", "lang", "rule")
RULE = pl.col("reason").str.split(":").list.first().str.strip_chars()


@dataclass
class Store:
    index: pl.DataFrame  # filter and sort columns, `_f` (file number); row i <-> rows row i
    rows: pl.DataFrame  # every column, zero-copy over the memory-mapped rows file
    folder: Path
    built: bool  # True when this open built the cache (False: reused)
    seconds: float  # time to build or open


def key(files: list[tuple[Path, str, str | None]], root: Path) -> str:
    parts = [VERSION]
    for path, status, split in files:
        st = path.stat()
        rel = os.path.relpath(path, root)
        parts.append([rel, status, split, st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def cache_folder(out: Path) -> Path:
    """OUT/.explore, or a folder in the temporary directory named after OUT when OUT is read-only."""
    folder = out / CACHE
    try:
        folder.mkdir(exist_ok=True)
        probe = folder / f".probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return folder
    except OSError:
        tag = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "dataforge-explore" / tag
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def open_store(out: Path, files: list[tuple[Path, str, str | None]], columns: list[str]) -> Store:
    t = time.perf_counter()
    folder = cache_folder(out)
    k = key(files, out)
    rows_path, index_path = folder / f"rows-{k}.arrow", folder / f"index-{k}.arrow"
    built = not (rows_path.is_file() and index_path.is_file())
    if built:
        _build(rows_path, index_path, files, columns)
        for old in folder.glob("*.arrow"):
            if old not in (rows_path, index_path):
                old.unlink(missing_ok=True)  # an open memory map of it stays valid
        for tmp in folder.glob(f".*{TMP_SUFFIX}"):  # a killed build's leftovers (not a build running now)
            if time.time() - tmp.stat().st_mtime > 3600:
                tmp.unlink(missing_ok=True)
        pa.default_memory_pool().release_unused()  # the build's batches: give the memory back
    index = pl.read_ipc(index_path)
    index = index.with_columns([pl.col(c).cast(pl.Categorical) for c in CATEGORICAL if c in index.columns])
    # memory-mapped and zero-copy (Polars takes Arrow string views as they are): nothing is read here
    rows = pl.from_arrow(pa.ipc.open_file(pa.memory_map(str(rows_path))).read_all(), rechunk=False)
    return Store(index=index, rows=rows, folder=folder, built=built, seconds=time.perf_counter() - t)


def _normalise(batch: pa.RecordBatch, columns: list[str], status: str, split: str | None) -> pl.DataFrame:
    """One batch with every column of `columns`, in order and typed (absent ones null)."""
    df = pl.from_arrow(batch)
    assert isinstance(df, pl.DataFrame)

    def col(c):
        if c == "status":
            return pl.lit(status).alias(c)
        if c == "split" and "split" not in df.columns:
            return pl.lit(split, dtype=pl.Utf8).alias(c)
        typ = pl.Float64 if is_score(c) else pl.Utf8
        return pl.col(c).cast(typ) if c in df.columns else pl.lit(None, dtype=typ).alias(c)
    return df.select([col(c) for c in columns])


def _index_of(df: pl.DataFrame, f: int) -> pl.DataFrame:
    keep = [c for c in ("id", "status", "source", "task", "split", "lang", "parent_id") if c in df.columns]
    extra = [pl.lit(f, dtype=pl.UInt16).alias("_f")]
    if "reason" in df.columns:
        extra.append(RULE.alias("rule"))
    if "detail" in df.columns:
        extra.append(pl.col("detail").str.json_path_match("$.kept_id").alias("kept_id"))
    return df.select([*extra[:1], *keep, *[c for c in df.columns if is_score(c)], *extra[1:]])


def _build(rows_path: Path, index_path: Path, files, columns: list[str]) -> None:
    """One pass over every file, a batch at a time: rows appended to the IPC file, index columns kept."""
    schema = pa.schema([(c, pa.float64() if is_score(c) else pa.string_view()) for c in columns])
    parts = []
    with atomic_path(rows_path) as tmp:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for f, (path, status, split) in enumerate(files):
                pf = pq.ParquetFile(path)
                have = [c for c in columns if c in pf.schema_arrow.names]
                for batch in pf.iter_batches(batch_size=BATCH, columns=have):
                    df = _normalise(batch, columns, status, split)
                    writer.write_table(df.to_arrow(compat_level=pl.CompatLevel.newest()).cast(schema))
                    parts.append(_index_of(df, f))
    if not parts:  # every file empty: an empty index with the right columns
        parts = [_index_of(pl.DataFrame(schema={c: pl.Float64 if is_score(c) else pl.Utf8 for c in columns}), 0)]
    index = pl.concat(parts, how="vertical")
    # categorical and uncompressed: reopening is a read, no cast (~0.2 s for a million rows)
    index = index.with_columns([pl.col(c).cast(pl.Categorical) for c in CATEGORICAL if c in index.columns])
    with atomic_path(index_path) as tmp:
        index.write_ipc(tmp, compression="uncompressed")
