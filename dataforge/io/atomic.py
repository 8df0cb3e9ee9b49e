"""Atomic file writes: write to a temporary name in the same folder, fsync, rename."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_parquet(path: str | os.PathLike, df: pl.DataFrame | pa.Table, compression: str = "zstd") -> None:
    table = df.to_arrow() if isinstance(df, pl.DataFrame) else df
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression)


def write_checkpoint(path: str | os.PathLike, df: pl.DataFrame) -> None:
    """A checkpoint part, read back by dataforge only: Polars' own writer (no Arrow
    conversion; 1M rows in 20 parts: 0.6 s against 0.94 s through pyarrow), zstd at level 1:
    on 300k documents 0.43 s instead of 1.07 s at Polars' default level, for 4% more bytes."""
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, compression="zstd", compression_level=1)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def clean_tmp(folder: str | os.PathLike) -> None:
    """Remove temporaries a killed run left behind."""
    folder = Path(folder)
    if folder.exists():
        for f in folder.glob(f".*{TMP_SUFFIX}"):
            f.unlink(missing_ok=True)
