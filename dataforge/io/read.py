"""Readers: every input becomes an iterator of Polars batches, read lazily.

Supported: JSONL, JSON arrays, CSV/TSV, Parquet (file, glob, folder), a `datasets`
Dataset/DatasetDict, a local dataset folder through `datasets`, and in-memory
Polars/Arrow tables. Malformed JSONL lines raise an InputError naming file and line,
or, with `on_error="quarantine"`, come out as rejects with the parse error.
"""
from __future__ import annotations

import glob as globmod
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import polars as pl
import pyarrow as pa

from dataforge.errors import InputError

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet", "hf", "table")
_EXT = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
    ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
}


@dataclass
class Batch:
    """Rows read from a source, plus the lines that could not be parsed."""

    rows: pl.DataFrame
    bad: list[dict] = field(default_factory=list)  # {"file", "line", "error", "raw"}
    read: int = 0  # input records consumed (good + bad)
    file: str | None = None  # where the rows came from, for error messages
    lines: list[int] | None = None  # line (JSONL, CSV), item (JSON) or row (Parquet) of each good row

    def where(self, i: int) -> str:
        """'data.jsonl:12' for good row i (or the best we know)."""
        line = self.lines[i] if self.lines is not None and i < len(self.lines) else None
        return f"{self.file or '<table>'}" + (f":{line}" if line is not None else f" row {i + 1}")


def detect_format(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        if any(p.glob("*.parquet")) or any(p.glob("**/*.parquet")):
            return "parquet" if not (p / "README.md").exists() and not (p / "dataset_info.json").exists() else "hf"
        return "hf"
    suffix = "".join(Path(path.replace("*", "x")).suffixes[-1:]).lower()
    if suffix in _EXT:
        return _EXT[suffix]
    raise InputError(f"{path}: cannot tell the format from the name; set `format:` to one of {FORMATS}")


def expand(path: str, fmt: str) -> list[str]:
    """A file, a glob or a folder -> sorted files of that format."""
    if any(ch in path for ch in "*?["):
        files = sorted(globmod.glob(path, recursive=True))
    elif os.path.isdir(path):
        ext = {"jsonl": ("*.jsonl", "*.ndjson"), "json": ("*.json",), "csv": ("*.csv",),
               "tsv": ("*.tsv",), "parquet": ("*.parquet",)}[fmt]
        files = sorted(str(f) for e in ext for f in Path(path).rglob(e))
    else:
        files = [path]
    if not files:
        raise InputError(f"{path}: no {fmt} files found")
    for f in files:
        if not os.path.exists(f):
            raise InputError(f"{f}: file not found")
    return files


def fingerprint(path: str, fmt: str) -> list:
    """Cheap identity of the input files (path, size, mtime) for checkpoint keys."""
    if fmt in ("hf", "table") and not os.path.exists(path):
        return [path]
    if os.path.isdir(path) and fmt == "hf":
        files = sorted(str(f) for f in Path(path).rglob("*") if f.is_file())
    else:
        files = expand(path, fmt)
    return [(f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]


def iter_batches(source: Any, fmt: str | None = None, *, batch_size: int = 50_000,
                 on_error: str = "fail", options: dict | None = None) -> Iterator[Batch]:
    """Yield Batch objects of at most `batch_size` rows from any supported input."""
    options = options or {}
    if isinstance(source, (pl.DataFrame, pa.Table, pl.LazyFrame)):
        yield from _iter_table(source, batch_size)
        return
    if _is_hf(source):
        yield from _iter_hf_obj(source, batch_size, options.get("split"))
        return
    path = str(source)
    fmt = fmt or detect_format(path)
    if fmt == "hf":
        yield from _iter_hf_folder(path, batch_size, options)
        return
    for f in expand(path, fmt):
        if fmt == "jsonl":
            yield from _iter_jsonl(f, batch_size, on_error)
        elif fmt == "json":
            yield from _iter_json_array(f, batch_size, on_error)
        elif fmt in ("csv", "tsv"):
            yield from _iter_csv(f, batch_size, "\t" if fmt == "tsv" else options.get("separator", ","))
        elif fmt == "parquet":
            yield from _iter_parquet(f, batch_size)
        else:
            raise InputError(f"{path}: unknown format '{fmt}'; use one of {FORMATS}")


# -- JSON ---------------------------------------------------------------------------

def _rows_to_frame(rows: list[dict], where: str) -> pl.DataFrame:
    try:
        return pl.from_dicts(rows, infer_schema_length=None)
    except Exception as e:  # mixed types across rows in one field
        raise InputError(f"{where}: rows disagree on a field's type ({e}); "
                         "give that field one type or map it in the recipe") from None


def _iter_jsonl(path: str, batch_size: int, on_error: str) -> Iterator[Batch]:
    chunk: list[tuple[int, bytes]] = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                chunk.append((lineno, raw))
            if len(chunk) >= batch_size:
                yield _parse_jsonl_chunk(path, chunk, on_error)
                chunk = []
    if chunk:
        yield _parse_jsonl_chunk(path, chunk, on_error)


def _parse_jsonl_chunk(path: str, chunk: list[tuple[int, bytes]], on_error: str) -> Batch:
    # Fast path: Polars parses the whole chunk natively; only a chunk that fails is
    # re-parsed line by line, to name the bad line or quarantine it.
    import io

    try:
        df = pl.read_ndjson(io.BytesIO(b"".join(r if r.endswith(b"\n") else r + b"\n" for _, r in chunk)),
                            infer_schema_length=None)
        if df.height == len(chunk):
            return Batch(df, [], len(chunk), path, [n for n, _ in chunk])
    except Exception:  # noqa: BLE001 - any parse problem: find the line below
        pass
    rows: list[dict] = []
    bad: list[dict] = []
    good_lines: list[int] = []
    for lineno, raw in chunk:
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
        except (ValueError, UnicodeDecodeError) as e:
            msg = f"{path}:{lineno}: malformed JSON line: {e}"
            if on_error != "quarantine":
                raise InputError(msg + " (set `on_error: quarantine` to keep going)") from None
            bad.append({"file": path, "line": lineno, "error": str(e),
                        "raw": raw.decode("utf-8", "replace").rstrip("\r\n")[:10_000]})
            continue
        rows.append(obj)
        good_lines.append(lineno)
    where = f"{path} (lines {chunk[0][0]}-{chunk[-1][0]})"
    return Batch(_rows_to_frame(rows, where) if rows else pl.DataFrame(), bad, len(chunk), path, good_lines)


def _iter_json_array(path: str, batch_size: int, on_error: str) -> Iterator[Batch]:
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
    except ValueError as e:
        line = getattr(e, "lineno", "?")
        raise InputError(f"{path}:{line}: malformed JSON: {e}") from None
    if isinstance(data, dict) and "data" in data and isinstance(data["data"], list):
        data = data["data"]
    elif isinstance(data, dict):  # one record per file, e.g. a Super-NaturalInstructions task
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON array of objects, got {type(data).__name__}")
    for start in range(0, len(data), batch_size):
        chunk = data[start:start + batch_size]
        good, bad, items = [], [], []
        for i, obj in enumerate(chunk, start=start):
            if isinstance(obj, dict):
                good.append(obj)
                items.append(i + 1)
            elif on_error == "quarantine":
                bad.append({"file": path, "line": i + 1, "error": "not a JSON object", "raw": json.dumps(obj)[:10_000]})
            else:
                raise InputError(f"{path}: item {i + 1} is not a JSON object") from None
        yield Batch(_rows_to_frame(good, path) if good else pl.DataFrame(), bad, len(chunk), path, items)


# -- CSV / Parquet / tables ---------------------------------------------------------

def _iter_csv(path: str, batch_size: int, sep: str) -> Iterator[Batch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            import csv

            header = next(csv.reader(fh, delimiter=sep), None)
        if not header:
            return
        # every column as text: type inference per block would disagree between blocks
        conv = pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                    strings_can_be_null=False)
        reader = pacsv.open_csv(path, parse_options=pacsv.ParseOptions(delimiter=sep),
                                convert_options=conv, read_options=pacsv.ReadOptions(block_size=1 << 22))
        pending: list = []
        n = 0
        line = 2  # after the header (quoted newlines inside fields would shift this)
        for rb in reader:
            pending.append(rb)
            n += rb.num_rows
            while n >= batch_size:
                table = pa.Table.from_batches(pending)
                df = pl.from_arrow(table.slice(0, batch_size))
                rest = table.slice(batch_size)
                pending, n = rest.to_batches(), rest.num_rows
                yield Batch(df, [], df.height, path, list(range(line, line + df.height)))
                line += df.height
        if n:
            df = pl.from_arrow(pa.Table.from_batches(pending))
            yield Batch(df, [], df.height, path, list(range(line, line + df.height)))
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot parse CSV: {e}") from None


def _iter_parquet(path: str, batch_size: int) -> Iterator[Batch]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise InputError(f"{path}: not a readable Parquet file: {e}") from None
    row = 1
    for rb in pf.iter_batches(batch_size=batch_size):
        df = pl.from_arrow(rb)
        yield Batch(df, [], df.height, path, list(range(row, row + df.height)))
        row += df.height


def _iter_table(table: Any, batch_size: int) -> Iterator[Batch]:
    if isinstance(table, pl.LazyFrame):
        table = table.collect()
    df = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    for start in range(0, max(df.height, 1), batch_size):
        part = df.slice(start, batch_size)
        yield Batch(part, [], part.height)


# -- datasets -------------------------------------------------------------------------

def _is_hf(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("datasets.")


def _iter_hf_obj(obj: Any, batch_size: int, split: str | None) -> Iterator[Batch]:
    if hasattr(obj, "keys") and not hasattr(obj, "features"):  # DatasetDict
        names = [split] if split else list(obj.keys())
        for name in names:
            yield from _iter_hf_obj(obj[name], batch_size, None)
        return
    table = obj.with_format("arrow")
    for start in range(0, len(obj), batch_size):
        part = pl.from_arrow(table[start:start + batch_size])
        yield Batch(part, [], part.height)


def _iter_hf_folder(path: str, batch_size: int, options: dict) -> Iterator[Batch]:
    import datasets

    try:
        ds = datasets.load_dataset(path, name=options.get("config"), split=options.get("split"))
    except Exception as e:
        raise InputError(f"{path}: `datasets` could not load this folder: {e}") from None
    yield from _iter_hf_obj(ds, batch_size, None)
