"""Readers: every input becomes an iterator of Polars batches, read lazily.

Supported: JSONL, JSON arrays, CSV/TSV (each also gzip, bz2, xz or zstd compressed:
"train.jsonl.gz"), Parquet (file, glob, folder), a `datasets`
Dataset/DatasetDict, a local dataset folder through `datasets`, and in-memory
Polars/Arrow tables. Values are never converted between types: a field keeps one JSON
type across a file's rows, and a row that breaks that (or cannot be parsed) is a row
error naming file, line and field: an InputError, or with `on_error="quarantine"` a
reject. The typing rules per reader are in docs/recipes.md ("Reading input").
"""
from __future__ import annotations

import glob as globmod
import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import polars as pl
import pyarrow as pa

from dataforge.errors import InputError

_log = logging.getLogger("dataforge.read")

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet", "hf", "table")
_EXT = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
    ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
}
# Text files compressed as a whole ("train.jsonl.gz", as many Hub datasets ship them) are read
# through a streaming decompressor; their format is the name without this ending.
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def format_of(name: str) -> str | None:
    """'jsonl' for "a/train.jsonl" and "a/train.jsonl.gz"; None for other names, and for a
    compressed Parquet file (Parquet compresses its own columns: no reader takes it)."""
    fmt = _EXT.get(_plain_suffix(name))
    return None if fmt == "parquet" and _plain_suffix(name) != Path(name).suffix.lower() else fmt


def _plain_suffix(name: str) -> str:
    """The suffix under a compression ending: ".jsonl" for "train.jsonl.gz"."""
    suffixes = [x.lower() for x in Path(name).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def open_input(path: str):
    """A binary file object of the file's bytes, decompressed when its name says so."""
    ext = Path(path).suffix.lower()
    if ext == ".gz":
        import gzip
        return gzip.open(path, "rb")
    if ext == ".bz2":
        import bz2
        return bz2.open(path, "rb")
    if ext == ".xz":
        import lzma
        return lzma.open(path, "rb")
    if ext == ".zst":
        try:
            import zstandard
        except ImportError:
            raise InputError(f"{path}: reading zstd-compressed files needs the `zstandard` package "
                             "(pip install zstandard); or decompress it first (zstd -d)") from None
        return io.BufferedReader(_ZstdRaw(path, zstandard))
    return open(path, "rb")


class _ZstdRaw(io.RawIOBase):
    """A zstd file's bytes, frame after frame. zstandard's own stream reader ends quietly where
    a file was cut short (its rows would vanish); this one raises ZstdError there."""

    def __init__(self, path: str, zstandard):
        super().__init__()
        self._f = open(path, "rb")
        self._error = zstandard.ZstdError
        self._d = zstandard.ZstdDecompressor()
        self._obj = self._d.decompressobj()
        self._buf = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf and not self._done:
            chunk = self._f.read(1 << 16)
            if not chunk:
                if not self._obj.eof:
                    raise self._error("the file ends inside a zstd frame")
                self._done = True
                break
            out = []
            while chunk:
                if self._obj.eof:  # the next frame
                    self._obj = self._d.decompressobj()
                out.append(self._obj.decompress(chunk))
                chunk = self._obj.unused_data if self._obj.eof else b""
            self._buf = b"".join(out)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def _decompress_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib
    errs: list[type[BaseException]] = [EOFError, zlib.error, lzma.LZMAError, OSError]
    try:
        import zstandard
        errs.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errs)


def _stream(fh, path: str) -> Iterator[bytes]:
    """The file's lines; a damaged or cut compressed file is an error naming it."""
    n = 0
    try:
        for n, line in enumerate(fh, start=1):
            yield line
    except _decompress_errors() as e:
        if Path(path).suffix.lower() not in COMPRESSED:
            raise
        where = f"after line {n}" if n else "at its start"
        raise InputError(f"{path}: cannot decompress the file {where} ({e}); "
                         "is it complete and compressed as its name says?") from None


def _read_all(path: str) -> bytes:
    try:
        with open_input(path) as fh:
            return fh.read()
    except InputError:
        raise
    except _decompress_errors() as e:
        if Path(path).suffix.lower() not in COMPRESSED:
            raise
        raise InputError(f"{path}: cannot decompress the file ({e}); is it complete and compressed "
                         "as its name says?") from None


@dataclass
class Batch:
    """Rows read from a source, plus the lines that could not be parsed."""

    rows: pl.DataFrame
    bad: list[dict] = field(default_factory=list)  # {"file", "line", "error", "raw"}
    read: int = 0  # input records consumed (good + bad)
    file: str | None = None  # where the rows came from, for error messages
    lines: Sequence[int] | None = None  # line (JSONL, CSV, JSON item) or row (Parquet, table) of each good row
    unit: str = "line"  # what `lines` count: "line" in text files, "row" in tables
    split: str | None = None  # the split of a `datasets` DatasetDict the rows came from
    raws: Sequence[bytes | str] | None = None  # JSON: each good row's text in the file, for rejects

    def where(self, i: int) -> str:
        """'data.jsonl:12' for good row i (or the best we know)."""
        line = self.lines[i] if self.lines is not None and i < len(self.lines) else None
        if self.file is None or line is None:
            return f"{self.file or '<table>'} row {line if line is not None else i + 1}"
        return f"{self.file}:{line}"


# Files a dataset folder may hold beside its data; they are not data.
_SIDE_FILES = {"readme.md", "dataset_info.json", "state.json", "dataset_dict.json", ".gitattributes",
               "license", "license.md", "license.txt", "citation.cff"}


def detect_format(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        return _folder_format(p)
    fmt = format_of(path.replace("*", "x"))
    if fmt is not None:
        return fmt
    if _EXT.get(_plain_suffix(path)) == "parquet":
        raise InputError(f"{path}: Parquet compresses its own columns; decompress the file first")
    if any(ch in path for ch in "*?["):  # a glob ("data/train-*"): the one format its files have
        kinds = {format_of(f) for f in globmod.glob(path, recursive=True) if os.path.isfile(f)}
        if len(kinds) == 1 and None not in kinds:
            return kinds.pop()
    raise InputError(f"{path}: cannot tell the format from the name; set `format:` to one of {FORMATS}")


def _folder_format(p: Path) -> str:
    """Decide a folder by what it holds: a `datasets` folder only when it says so (README
    `configs:`, or `save_to_disk` files); else the one data format its files have."""
    files = [f for f in p.rglob("*") if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)]
    if (p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists() or _readme_configs(p / "README.md"):
        return "hf"
    kinds: dict[str, list[str]] = {}
    other = []
    for f in files:
        fmt = format_of(f.name)
        if fmt:
            kinds.setdefault(fmt, []).append(str(f.relative_to(p)))
        elif f.name.lower() not in _SIDE_FILES:
            other.append(str(f.relative_to(p)))
    if len(kinds) == 1:
        return next(iter(kinds))
    if not kinds:
        raise InputError(f"{p}: the folder holds no data files (.jsonl/.json/.csv/.tsv/.parquet)"
                         + (f"; found {sorted(other)[:5]}" if other else ""))
    raise InputError(f"{p}: the folder holds files of several formats "
                     + ", ".join(f"{k}: {sorted(v)[:3]}" for k, v in sorted(kinds.items()))
                     + "; name one format with a glob (e.g. DIR/*.jsonl) or one source per format")


def _readme_configs(readme: Path) -> bool:
    """True when a README's YAML header has `configs:` (the Hub's way to name data files)."""
    if not readme.is_file():
        return False
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if not text.startswith("---"):
        return False
    header = text[3:].split("\n---", 1)[0]
    return any(line.startswith("configs:") for line in header.splitlines())


def expand(path: str, fmt: str) -> list[str]:
    """A file, a glob or a folder -> sorted files of that format."""
    if any(ch in path for ch in "*?["):
        files = sorted(globmod.glob(path, recursive=True))
    elif os.path.isdir(path):
        files = sorted(str(f) for f in Path(path).rglob("*") if f.is_file() and format_of(f.name) == fmt)
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


def file_digests(path: str, fmt: str) -> list[dict]:
    """Each input file's path, size and XXH3-128 digest of its bytes (for the manifest: were
    these the same source files?). XXH3 reads at memory speed; sha256 would add a second per
    gigabyte to every run."""
    import xxhash

    out = []
    for f, size, _ in fingerprint(path, fmt):
        if not isinstance(f, str) or not os.path.isfile(f):
            continue
        h = xxhash.xxh3_128()
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 23):
                h.update(chunk)
        out.append({"path": f, "bytes": size, "xxh3_128": h.hexdigest()})
    return out


def iter_batches(source: Any, fmt: str | None = None, *, batch_size: int = 50_000,
                 on_error: str = "fail", options: dict | None = None,
                 text_fields: Iterable[str] = (), record_fields: Iterable[str] = ("instruction", "output"),
                 meta_field: str | None = "meta", id_field: str | None = "id",
                 number_text: Iterable[str] = ()) -> Iterator[Batch]:
    """Yield Batch objects of at most `batch_size` rows from any supported input.

    `text_fields` are the fields that must hold text (or null): in JSON a row where one of
    them holds another type is a row error, whatever the other rows hold. That rule applies
    to record rows: rows holding one of `record_fields` (all rows when it is empty); raw
    rows waiting for `convert` may hold anything there.

    In JSON, the `meta_field` (the input field that becomes `meta`) given as an object is read
    as its JSON text, row by row, so no row's meta takes keys or types from another's; the
    `id_field` given as an integer (any size) is read as its digits. For each of the
    `number_text` fields (those a source's `template` renders) that holds a number, the
    column NUMBER_TEXT + field holds the number as the file wrote it."""
    for b in _iter_any(source, fmt, batch_size, on_error, options or {},
                       (frozenset(text_fields), frozenset(record_fields), meta_field, id_field,
                        tuple(number_text))):
        yield _plain_text(b)


def _plain_text(b: Batch) -> Batch:
    """Dictionary-encoded text (Parquet dictionaries, pandas categories, Polars enums) is text."""
    cats = [c for c, t in b.rows.schema.items() if isinstance(t, (pl.Categorical, pl.Enum))]
    if cats:
        b.rows = b.rows.with_columns(pl.col(cats).cast(pl.Utf8))
    return b


def _iter_any(source: Any, fmt: str | None, batch_size: int, on_error: str, options: dict,
              text: tuple) -> Iterator[Batch]:
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
            yield from _iter_jsonl(f, batch_size, on_error, text)
        elif fmt == "json":
            yield from _iter_json_array(f, batch_size, on_error, text)
        elif fmt in ("csv", "tsv"):
            yield from _iter_csv(f, batch_size, "\t" if fmt == "tsv" else options.get("separator", ","), on_error)
        elif fmt == "parquet":
            yield from _iter_parquet(f, batch_size)
        else:
            raise InputError(f"{path}: unknown format '{fmt}'; use one of {FORMATS}")


# -- JSON ---------------------------------------------------------------------------
# Every JSON row is parsed by the json module (Polars' reader silently turns 42 into "42",
# keeps the first of two duplicate keys and replaces lone surrogates). Each row is then
# checked: one JSON object, no duplicate keys, valid Unicode, text fields hold text, and
# every field the same JSON type as in the rows before it.

class _Dups(list):
    """Duplicate keys met while parsing one row (the pairs hook cannot raise mid-parse)."""


def _decoder(dups: _Dups) -> json.JSONDecoder:
    def pairs(items):
        d = dict(items)
        if len(d) != len(items):
            seen = set()
            dups.extend(k for k, _ in items if k in seen or seen.add(k))
        return d
    return json.JSONDecoder(object_pairs_hook=pairs)


_KIND = {str: "text", int: "number", float: "number", bool: "bool", list: "list", dict: "object",
         type(None): "null"}


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "text"
    return "list" if isinstance(v, list) else "object"


def _bad_unicode(v: Any) -> bool:
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(v, dict):
        return any(_bad_unicode(k) or _bad_unicode(x) for k, x in v.items())
    if isinstance(v, list):
        return any(_bad_unicode(x) for x in v)
    return False


class _RowChecker:
    """Per file: the JSON type each field has had so far; names the first row that differs."""

    def __init__(self, text: tuple = (frozenset(), frozenset())):
        self.text, self.record = text[0], text[1]
        self.meta, self.id = (text[2], text[3]) if len(text) > 2 else ("meta", "id")
        self.numbers = text[4] if len(text) > 4 else ()
        self.kinds: dict[str, tuple[str, int]] = {}  # field -> (kind, line where first seen)

    def nested(self) -> set[str]:
        """Fields that have held a list or an object (their nested shapes must agree)."""
        return {k for k, (kind, _) in self.kinds.items() if kind in ("list", "object")}

    def problem(self, obj: Any, dups: list, raw: bytes | str, line: int) -> str | None:
        if not isinstance(obj, dict):
            return f"expected a JSON object, got {_kind(obj)}"
        if dups:
            return f"duplicate key(s) {sorted(set(dups))} in one object (which value is meant is unclear)"
        if ("\\u" in raw if isinstance(raw, str) else b"\\u" in raw) and _bad_unicode(obj):
            return "invalid Unicode: a lone surrogate escape (\\udXXX) in a string"
        record = not self.record or any(k in obj for k in self.record)
        text = self.text if record else ()
        # meta given as an object is kept as this row's JSON text (a Polars struct would take the
        # keys and types of other rows); an integer id is its digits (any size)
        m = obj.get(self.meta)
        if m is not None and m.__class__ is not str:
            if m.__class__ is dict:
                obj[self.meta] = json.dumps(m, ensure_ascii=False, separators=(",", ":"))
            elif record:
                return f"wrong type: field '{self.meta}' must hold a JSON object, got {_kind(m)} {_show(m)}"
        i = obj.get(self.id)
        if i is not None and i.__class__ is not str:
            if i.__class__ is int:
                obj[self.id] = str(i)
            elif record:
                return f"wrong type: field '{self.id}' must be text or an integer, got {_kind(i)} {_show(i)}"
        if self.numbers:
            self._number_text(obj, raw)
        kinds = self.kinds
        for k, v in obj.items():
            kind = _KIND.get(type(v)) or _kind(v)
            first = kinds.get(k)
            if first is not None and first[0] == kind and (kind == "text" or k not in text):
                continue  # the common case: same type as before
            if kind == "null":
                continue
            if kind != "text" and k in text:
                return f"wrong type: field '{k}' must be text, got {kind} {_show(v)}"
            if first is None:
                kinds[k] = (kind, line)
            elif first[0] != kind:
                return (f"wrong type: field '{k}' is {kind} {_show(v)} here but {first[0]} at line {first[1]}; "
                        "give the field one type")
        return None

    def _number_text(self, obj: dict, raw: bytes | str) -> None:
        """For template fields holding a number: the number as written (a column of integers
        and decimals is floats, and 5 would render as "5.0")."""
        as_written = None
        for f in self.numbers:
            v = obj.get(f)
            if v.__class__ is int:
                obj[NUMBER_TEXT + f] = str(v)
            elif v.__class__ is float:
                if as_written is None:
                    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    as_written = json.JSONDecoder(parse_float=str, parse_int=str).decode(text.strip())
                if isinstance(as_written.get(f), str):  # (not NaN or Infinity)
                    obj[NUMBER_TEXT + f] = as_written[f]


_JSON_HINT = ("; JSON Lines holds one object per line: if the file is one JSON value (an array, or an "
              "object written over several lines), name it .json or set `format: json` on the source")

NUMBER_TEXT = "_number_text:"  # + field: the field's number as the file wrote it (templates)


def _show(v: Any) -> str:
    try:
        text = json.dumps(v, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _rows_to_frame(rows: list[dict], where: str, lines: list[int] | None = None, raws: list | None = None,
                   on_error: str = "fail", bad: list[dict] | None = None, path: str = "",
                   nested: set[str] | None = None) -> tuple[pl.DataFrame, list[int], list | None]:
    """The rows as one frame, the lines of those kept and their raw texts. Where Polars cannot
    hold them together (a nested value of another shape: a chat's `content` text in one row
    and a list of parts in another), each row whose shape differs from most rows is a row
    error naming its line and the field's path. Polars does not always fail there: it may turn
    the odd value into text or null. So the `nested` fields (those holding lists or objects)
    are checked before the frame is made; None: unknown, checked only when Polars fails."""
    lines = list(lines) if lines is not None else list(range(1, len(rows) + 1))
    if not rows:
        return pl.DataFrame(), lines, raws
    error = ""
    try:
        frame = pl.from_dicts(rows, infer_schema_length=None)
        # Polars holds what it could not type as text or null: a nested column that reads back
        # other than the rows wrote it is checked path by path (a read-back also differs where
        # objects lack keys that others have: then the check finds nothing and the frame stands)
        changed = {c for c in (nested or ()) if c in frame.columns
                   and frame[c].to_list() != [r.get(c) for r in rows]}
        odd = _shape_conflicts(rows, lines, changed) if changed else []
        if not odd:
            return frame, lines, raws
    except Exception as e:
        error = str(e)[:200]
        odd = _shape_conflicts(rows, lines)
    if odd and on_error != "quarantine":
        i, msg = odd[0]
        raise InputError(f"{path}:{lines[i]}: {msg} (set `on_error: quarantine` to keep going)")
    if odd and bad is not None:
        for i, msg in odd:
            raw = raws[i] if raws is not None else json.dumps(rows[i], ensure_ascii=False)
            raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            bad.append({"file": path, "line": lines[i], "error": msg, "raw": raw.rstrip("\r\n")[:10_000]})
        drop = {i for i, _ in odd}
        keep = [i for i in range(len(rows)) if i not in drop]
        try:
            frame = pl.from_dicts([rows[i] for i in keep], infer_schema_length=None) if keep else pl.DataFrame()
            return frame, [lines[i] for i in keep], [raws[i] for i in keep] if raws is not None else None
        except Exception as e:
            error = str(e)[:200]
    raise InputError(f"{where}: rows disagree on the type of a nested value ({error}); "
                     "give that field one type or map it in the recipe") from None


def _shapes(v: Any, path: str, out: list[tuple[str, str]]) -> None:
    """(path, JSON kind) of a value and of everything nested in it ("messages[].content")."""
    k = _KIND.get(v.__class__) or _kind(v)
    if k == "null":
        return
    out.append((path, k))
    if k == "list":
        inner = path + "[]"
        for x in v:
            kx = _KIND.get(x.__class__)
            if kx is None or kx == "list" or kx == "object":
                _shapes(x, inner, out)
            elif kx != "null":
                out.append((inner, kx))
    elif k == "object":
        for key, x in v.items():
            kx = _KIND.get(x.__class__)
            if kx is None or kx == "list" or kx == "object":
                _shapes(x, f"{path}.{key}", out)
            elif kx != "null":
                out.append((f"{path}.{key}", kx))


def _shape_conflicts(rows: list[dict], lines: list[int], fields: set[str] | None = None) -> list[tuple[int, str]]:
    """(row index, message) for each row holding, at some path, another kind of value than
    most rows do (numbers of both kinds are one kind, as Polars widens them); only in `fields`
    when given."""
    per_row = []
    shapes: dict[tuple, list] = {}  # a row's (path, kind) pairs -> [rows, first line]: most rows share one
    for i, row in enumerate(rows):
        pairs: list[tuple[str, str]] = []
        for key, v in row.items():
            if fields is None or key in fields:
                _shapes(v, key, pairs)
        sig = tuple(dict.fromkeys(pairs))
        per_row.append(sig)
        c = shapes.get(sig)
        if c is None:
            shapes[sig] = [1, lines[i]]
        else:
            c[0] += 1
    if len(shapes) < 2:
        return []
    count: dict[str, dict[str, list]] = {}  # path -> kind -> [rows, first line]
    for sig, (n, first) in shapes.items():
        for p, k in sig:
            c = count.setdefault(p, {}).setdefault(k, [0, first])
            c[0] += n
            c[1] = min(c[1], first)
    usual = {p: max(ks.items(), key=lambda kv: (kv[1][0], -kv[1][1])) for p, ks in count.items() if len(ks) > 1}
    if not usual:
        return []
    odd = []
    for i, pairs in enumerate(per_row):
        clash = next(((p, k) for p, k in pairs if p in usual and usual[p][0] != k), None)
        if clash is not None:
            p, k = clash
            kind, (_, first) = usual[p]
            if (p, kind) in pairs:  # both kinds in this row: a list that mixes them (["x", 1])
                odd.append((i, f"wrong type: field '{p}' mixes {kind} and {k} in one row; give it one shape"))
            else:
                odd.append((i, f"wrong type: field '{p}' is {k} here but {kind} in most rows (the first at "
                               f"line {first}); give it one shape"))
    return odd


def _iter_jsonl(path: str, batch_size: int, on_error: str, text=(frozenset(), frozenset())) -> Iterator[Batch]:
    _refuse_wide_encoding(path)
    chunk: list[tuple[int, bytes]] = []
    checker = _RowChecker(text)
    with open_input(path) as fh:
        for lineno, raw in enumerate(_stream(fh, path), start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte-order mark is not data
            if raw.strip():
                chunk.append((lineno, raw))
            if len(chunk) >= batch_size:
                yield _parse_jsonl_chunk(path, chunk, on_error, checker)
                chunk = []
    if chunk:
        yield _parse_jsonl_chunk(path, chunk, on_error, checker)


def _parse_jsonl_chunk(path: str, chunk: list[tuple[int, bytes]], on_error: str,
                       checker: _RowChecker | None = None) -> Batch:
    checker = checker or _RowChecker()
    dups = _Dups()
    dec = _decoder(dups)
    rows: list[dict] = []
    bad: list[dict] = []
    good_lines: list[int] = []
    raws: list[bytes] = []
    for lineno, raw in chunk:
        dups.clear()
        try:
            # (the line end is no part of the record: a string cut at it reads "Unterminated
            # string", not "Invalid control character")
            obj = dec.decode(raw.decode("utf-8").rstrip("\r\n"))  # "Extra data" after the value is an error too
            err = checker.problem(obj, dups, raw, lineno)
            if err is not None and isinstance(obj, list):
                err += _JSON_HINT
        except UnicodeDecodeError as e:
            err = f"not UTF-8 text ({e.reason} at byte {e.start})"
        except RecursionError:
            err = "nested too deeply"
        except ValueError as e:
            err = f"malformed JSON: {e}"
            if b"\r" in raw.rstrip(b"\r\n"):  # several records on one "line": classic-Mac line ends
                err += "; its lines seem to end with a lone CR: convert them first (tr '\\r' '\\n')"
            elif raw.strip() in (b"{", b"["):
                err += _JSON_HINT
        if err is not None:
            msg = f"{path}:{lineno}: {err}"
            if on_error != "quarantine":
                hint = encoding_hint(path) if err.startswith("not UTF-8") else ""
                raise InputError(msg + hint + " (set `on_error: quarantine` to keep going)") from None
            if err.startswith("not UTF-8"):
                _warn_encoding_once(path)
                # (replacement characters would lose the bytes; Latin-1 keeps each one)
                text, err = raw.decode("latin-1"), err + f"; `raw` shows the line's bytes {_AS_LATIN1}"
            else:
                text = raw.decode("utf-8", "replace")
            bad.append({"file": path, "line": lineno, "error": err, "raw": text.rstrip("\r\n")[:10_000]})
            continue
        rows.append(obj)
        good_lines.append(lineno)
        raws.append(raw)
    where = f"{path} (lines {chunk[0][0]}-{chunk[-1][0]})"
    frame, good_lines, raws = _rows_to_frame(rows, where, good_lines, raws, on_error, bad, path, checker.nested())
    return Batch(frame, bad, len(chunk), path, good_lines, raws=raws)


def _ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32, from a byte-order mark or NUL bytes (UTF-16 without a mark)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") > len(head) // 4:
        return "UTF-16"
    return None


def _refuse_wide_encoding(path: str) -> None:
    """A UTF-16/32 file is wrong as a whole, not line by line: read as UTF-8 its bytes split
    into lines that are no rows of it (quarantined, they would be rows that never existed)."""
    try:
        with open_input(path) as fh:
            head = fh.read(4096)
    except Exception:  # damaged: the reader itself says so
        return
    if head and _wide_encoding(head):
        raise InputError(f"{path}: not UTF-8 text (from its first bytes){encoding_hint(path)}")


_WARNED_ENCODING: set[str] = set()


def _warn_encoding_once(path: str) -> None:
    """Quarantined rows that are not UTF-8: say once per file what the file seems to be."""
    if path in _WARNED_ENCODING:
        return
    _WARNED_ENCODING.add(path)
    hint = encoding_hint(path)
    if hint:
        logging.getLogger("dataforge.read").warning("%s: rows that are not UTF-8 text were quarantined%s",
                                                    path, hint)


def encoding_hint(path: str) -> str:
    """Why a file is not UTF-8, where its first bytes tell: a UTF-16/32 byte-order mark or
    NUL bytes (UTF-16 without a mark), else text that reads as Windows-1252 (Latin-1)."""
    try:
        with open_input(path) as fh:
            head = fh.read(4096)
    except Exception:  # unreadable or damaged: the hint is only a hint
        return ""
    # (a compressed file's command reads its decompressed text)
    cat = {".gz": "zcat", ".bz2": "bzcat", ".xz": "xzcat", ".zst": "zstdcat"}.get(Path(path).suffix.lower())
    src = f"<({cat} {path})" if cat else path
    plain = Path(path[: -len(Path(path).suffix)] if cat else path)  # data.csv.gz -> data.csv
    dest = f"out{plain.suffix or '.jsonl'}"
    enc = _wide_encoding(head)
    if enc:
        return f"; the file is {enc} text: convert it to UTF-8 first (iconv -f {enc} -t UTF-8 {src} > {dest})"
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return (f"; it reads as Windows-1252 (Latin-1) text: convert it to UTF-8 first "
            f"(iconv -f WINDOWS-1252 -t UTF-8 {src} > {dest})")


def _iter_json_array(path: str, batch_size: int, on_error: str, text=(frozenset(), frozenset())) -> Iterator[Batch]:
    """A JSON array of objects (or one object = one record), item by item with line numbers."""
    try:
        s = _read_all(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}){encoding_hint(path)}") from None
    dups = _Dups()
    dec = _decoder(dups)
    items = _json_items(s, path, dec, dups)
    checker = _RowChecker(text)
    good, bad, lines, raws, n = [], [], [], [], 0

    def batch(read: int) -> Batch:
        frame, kept, kept_raws = _rows_to_frame(good, path, lines, raws, on_error, bad, path, checker.nested())
        return Batch(frame, bad, read, path, kept, raws=kept_raws)

    for line, obj, item_dups, raw in items:
        n += 1
        err = checker.problem(obj, item_dups, raw, line)
        if err is not None:
            msg = f"{path}:{line}: item {n}: {err}"
            if on_error != "quarantine":
                raise InputError(msg + " (set `on_error: quarantine` to keep going)") from None
            bad.append({"file": path, "line": line, "error": err, "raw": raw[:10_000]})
        else:
            good.append(obj)
            lines.append(line)
            raws.append(raw)
        if n % batch_size == 0:
            yield batch(batch_size)
            good, bad, lines, raws = [], [], [], []
    if n % batch_size or n == 0:
        yield batch(n % batch_size)


def _json_items(s: str, path: str, dec: json.JSONDecoder, dups: _Dups) -> Iterator[tuple[int, Any, list, str]]:
    """(line, value, duplicate keys, raw text) for each item of a top-level array; a top-level
    object is one item. A syntax error anywhere stops the file (items after it cannot be found)."""
    def fail(e: Exception, pos: int) -> InputError:
        if isinstance(e, RecursionError):
            return InputError(f"{path}:{s.count(chr(10), 0, pos) + 1}: JSON nested too deeply")
        line = getattr(e, "lineno", None) or s.count("\n", 0, pos) + 1
        return InputError(f"{path}:{line}: malformed JSON: {getattr(e, 'msg', e)}")

    i = _ws(s, 0)
    if i == len(s):
        raise InputError(f"{path}:1: empty file; expected a JSON array of objects")
    if s[i] != "[":
        dups.clear()
        try:
            obj, end = dec.raw_decode(s, i)
        except (ValueError, RecursionError) as e:
            raise fail(e, i) from None
        if s[_ws(s, end):].strip():
            raise InputError(f"{path}:{s.count(chr(10), 0, _ws(s, end)) + 1}: extra data after the JSON value")
        if isinstance(obj, dict) and isinstance(obj.get("data"), list):
            if len(obj) > 1:
                others = sorted(k for k in obj if k != "data")
                raise InputError(f"{path}:1: a JSON object with a `data` array and other keys {others[:5]}: "
                                 "is it one record or a wrapper around the `data` rows? Keep only `data` "
                                 "(a wrapper) or write the record as a one-item array")
            for j, (line, item, _, raw) in enumerate(_json_items(_array_text(s, i), path, dec, dups)):
                yield line, item, [], raw  # line numbers shift by the wrapper; items still counted
            return
        yield s.count("\n", 0, i) + 1, obj, list(dups), s[i:end]
        return
    i = _ws(s, i + 1)
    if i < len(s) and s[i] == "]":
        return
    pos, line = 0, 1  # line numbers counted incrementally (a count from 0 per item is quadratic)
    while True:
        dups.clear()
        try:
            obj, end = dec.raw_decode(s, i)
        except (ValueError, RecursionError) as e:
            raise fail(e, i) from None
        line += s.count("\n", pos, i)
        pos = i
        yield line, obj, list(dups), s[i:end]
        j = _ws(s, end)
        if j < len(s) and s[j] == ",":
            i = _ws(s, j + 1)
            continue
        if j < len(s) and s[j] == "]":
            if s[j + 1:].strip():
                k = _ws(s, j + 1)
                raise InputError(f"{path}:{s.count(chr(10), 0, k) + 1}: extra data after the JSON array")
            return
        raise InputError(f"{path}:{s.count(chr(10), 0, j) + 1}: malformed JSON: expected ',' or ']' after item")


def _array_text(s: str, i: int) -> str:
    """The text of a wrapper object's `data` array, padded so line numbers stay those of the file."""
    obj_start = i
    k = s.index('"data"', obj_start)
    colon = s.index(":", k)
    start = _ws(s, colon + 1)
    return "\n" * s.count("\n", 0, start) + s[start:].rstrip().rstrip("}").rstrip()


# -- CSV / Parquet / tables ---------------------------------------------------------

def _iter_csv(path: str, batch_size: int, sep: str, on_error: str = "fail") -> Iterator[Batch]:
    """Every field is text, exactly as in the file (no type inference, "" stays ""). A row with
    more or fewer fields than the header (for TSV often a tab inside a field) is a row error."""
    import csv
    import sys

    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    kind = "TSV" if sep == "\t" else "CSV"
    _refuse_wide_encoding(path)
    with open_input(path) as fb:
        lines = _Tape(_text_lines(_stream(fb, path)))
        # strict: a quote opens a quoted field only where the field starts with it, and the field
        # must end at its closing quote; where it does not ('"Great" movie', a stray quote that
        # would swallow the lines after it), that record's lines are read again with every quote
        # a plain character (_literal_rows), so no field's text changes and no line vanishes
        reader = csv.reader(lines, delimiter=sep, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise InputError(f"{path}:1: cannot parse the {kind} header: {e}") from None
        if not header:
            return
        if any(_bad_unicode(h) for h in header):
            raise InputError(f"{path}:1: the header is not UTF-8 text{encoding_hint(path)}")
        if len(header) == 1:  # one column: perhaps another separator ("instruction;output")
            other = next((c for c in (";", "\t", "|", ",") if c != sep and len(
                [x for x in header[0].split(c) if x.strip()]) >= 2), None)
            if other is not None:
                shown = {"\t": "\\t"}.get(other, other)
                raise InputError(f"{path}:1: the {kind} header has one column, {header[0][:80]!r}: the file "
                                 f"seems separated by '{shown}'; set `options: {{separator: \"{shown}\"}}` "
                                 "on the source")
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise InputError(f"{path}:1: duplicate column name(s) {dup} in the {kind} header")
        if any(h == "" for h in header):
            raise InputError(f"{path}:1: the {kind} header has an empty column name (column "
                             f"{header.index('') + 1})")
        width = len(header)
        cols: list[list[str]] = [[] for _ in header]
        bad: list[dict] = []
        good_lines: list[int] = []
        read = 0
        yielded = False
        prev_end = reader.line_num
        pending: list[tuple[int, list[str]]] = []  # (line, row) read again with quotes as plain text
        while True:
            if pending:
                start, row = pending.pop(0)
                swallowed = None
            else:
                lines.buf.clear()
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    if "expected after" not in str(e) and "unexpected end of data" not in str(e):
                        raise InputError(f"{path}:{reader.line_num}: cannot parse {kind}: {e}") from None
                    start, prev_end = prev_end + 1, reader.line_num
                    pending = _literal_rows(lines.buf, sep, start)
                    if (path, start) not in _WARNED_QUOTES:  # (a source may be read twice: once per run)
                        _WARNED_QUOTES.add((path, start))
                        span = f"line {start} is" if prev_end == start else f"lines {start}-{prev_end} are"
                        _log.warning("%s:%d: a quote there opens no well-formed quoted field; %s read with "
                                     "quotes as plain characters", path, start, span)
                    continue
                start, prev_end = prev_end + 1, reader.line_num
                swallowed = _swallowed(lines.buf, sep, width) if prev_end > start else None
            if not row or row == [""] and width > 1:
                continue  # a blank line
            read += 1
            err = None
            if swallowed:
                err = (f"a quoted field spans lines {start}-{prev_end}, and each of those lines reads as a "
                       f"whole record of {width} fields: is the quote at line {start} stray? Remove it, or "
                       "write a quote inside a quoted field as \"\"")
            elif len(row) != width:
                err = (f"ragged row: {len(row)} fields, the header has {width}"
                       + ("; a tab inside a field must be quoted" if sep == "\t" and len(row) > width else ""))
            elif any(_bad_unicode(v) for v in row):
                field_ = header[next(i for i, v in enumerate(row) if _bad_unicode(v))]
                err = f"field '{field_}' is not UTF-8 text"
            if err is not None:
                if on_error != "quarantine":
                    hint = encoding_hint(path) if err.endswith("not UTF-8 text") else ""
                    raise InputError(f"{path}:{start}: {err}{hint} (set `on_error: quarantine` to keep going)")
                text = "".join(lines.buf).rstrip("\r\n") if swallowed else sep.join(row)
                if err.endswith("not UTF-8 text"):
                    _warn_encoding_once(path)
                    text = text.encode("utf-8", "surrogateescape").decode("latin-1")
                    err += f"; `raw` shows the record's bytes {_AS_LATIN1}"
                else:
                    text = text.encode("utf-8", "replace").decode("utf-8")
                bad.append({"file": path, "line": start, "error": err, "raw": text[:10_000]})
            else:
                for c, v in zip(cols, row):
                    c.append(v)
                good_lines.append(start)
            if read >= batch_size:
                yield _csv_batch(header, cols, bad, read, path, good_lines)
                cols, bad, good_lines, read = [[] for _ in header], [], [], 0
                yielded = True
        if read or not yielded:
            yield _csv_batch(header, cols, bad, read, path, good_lines)


_WARNED_QUOTES: set[tuple[str, int]] = set()
_AS_LATIN1 = "as Latin-1 (one character per byte, none lost)"


class _Tape:
    """An iterator of lines that keeps those handed out since `buf` was last cleared (the lines
    of the CSV record being parsed)."""

    def __init__(self, it: Iterator[str]):
        self.it = it
        self.buf: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.it)
        self.buf.append(line)
        return line


def _literal_rows(buf: list[str], sep: str, start: int) -> list[tuple[int, list[str]]]:
    """The lines of a record whose quoting is malformed, each one record with quotes as plain
    characters (as TSV without quoting reads them)."""
    out = []
    for k, line in enumerate(buf):
        text = line.rstrip("\r\n")
        out.append((start + k, text.split(sep) if text else []))
    return out


def _swallowed(buf: list[str], sep: str, width: int) -> bool:
    """A quoted field that holds line ends, where every line of the record also reads as a
    whole record: most likely a stray quote that joined several records into one. Tabs are
    rare inside text, so for TSV two such lines tell; commas are common, so CSV needs three."""
    if width < 2 or len(buf) < (2 if sep == "\t" else 3):
        return False
    return all(line.rstrip("\r\n").count(sep) == width - 1 for line in buf)


def _text_lines(fb) -> Iterator[str]:
    """Lines of a binary file as text; invalid UTF-8 becomes lone surrogates, so the row that
    holds it is found and named instead of failing the file."""
    first = True
    for raw in fb:
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        yield raw.decode("utf-8", "surrogateescape")


def _csv_batch(header: list[str], cols: list[list[str]], bad: list[dict], read: int, path: str,
               lines: list[int]) -> Batch:
    df = pl.DataFrame({h: pl.Series(h, c, dtype=pl.Utf8) for h, c in zip(header, cols)})
    return Batch(df, bad, read, path, lines)


def _iter_parquet(path: str, batch_size: int) -> Iterator[Batch]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise InputError(f"{path}: not a readable Parquet file: {e}") from None
    row = 1
    for rb in pf.iter_batches(batch_size=batch_size):
        df = pl.from_arrow(rb)
        yield Batch(df, [], df.height, path, range(row, row + df.height), unit="row")
        row += df.height


def _iter_table(table: Any, batch_size: int) -> Iterator[Batch]:
    if isinstance(table, pl.LazyFrame):
        table = table.collect()
    df = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    for start in range(0, max(df.height, 1), batch_size):
        part = df.slice(start, batch_size)
        yield Batch(part, [], part.height, lines=range(start + 1, start + 1 + part.height), unit="row")


# -- datasets -------------------------------------------------------------------------

def _is_hf(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("datasets.")


def _iter_hf_obj(obj: Any, batch_size: int, split: str | None) -> Iterator[Batch]:
    if hasattr(obj, "keys") and not hasattr(obj, "features"):  # DatasetDict
        names = [split] if split else list(obj.keys())
        for name in names:
            for b in _iter_hf_obj(obj[name], batch_size, None):
                b.split = name
                yield b
        return
    table = obj.with_format("arrow")
    for start in range(0, len(obj), batch_size):
        part = pl.from_arrow(table[start:start + batch_size])
        yield Batch(part, [], part.height, lines=range(start + 1, start + 1 + part.height), unit="row",
                    split=getattr(obj, "split", None) and str(obj.split))


def _iter_hf_folder(path: str, batch_size: int, options: dict) -> Iterator[Batch]:
    import datasets

    if _saved_to_disk(Path(path)):  # Dataset / DatasetDict .save_to_disk(): only load_from_disk reads it
        try:
            ds = datasets.load_from_disk(path)
        except Exception as e:
            raise InputError(f"{path}: `datasets` could not load this saved dataset: {e}") from None
        split = options.get("split")
        if split and hasattr(ds, "keys") and not hasattr(ds, "features"):
            if split not in ds:
                raise InputError(f"{path}: no split '{split}' in this saved dataset; it has {sorted(ds.keys())}")
            ds = ds[split]
        yield from _iter_hf_obj(ds, batch_size, None)
        return
    try:
        ds = datasets.load_dataset(path, name=options.get("config"), split=options.get("split"))
    except Exception as e:
        raise InputError(f"{path}: `datasets` could not load this folder: {e}") from None
    if not options.get("split") and not options.get("config"):
        loaded = sum(len(d) for d in ds.values()) if hasattr(ds, "values") else len(ds)
        held = _rows_held(Path(path))
        if held is not None and loaded < held:
            # never fewer rows than the files hold without saying so
            logging.getLogger("dataforge.read").warning(
                "%s: `datasets` loaded %d rows as the folder's README `configs` say, but its data "
                "files hold %d; name the files with a glob to read them all", path, loaded, held)
    yield from _iter_hf_obj(ds, batch_size, None)


def _saved_to_disk(folder: Path) -> bool:
    """A folder written by `save_to_disk`: state.json beside Arrow files, or dataset_dict.json."""
    return (folder / "dataset_dict.json").is_file() or \
        ((folder / "state.json").is_file() and any(folder.glob("*.arrow")))


def _rows_held(folder: Path) -> int | None:
    """Rows in a folder's Parquet, JSONL and CSV/TSV files (None if it holds other data)."""
    import pyarrow.parquet as pq

    n = 0
    for f in folder.rglob("*"):
        if not f.is_file() or any(part.startswith(".") for part in f.relative_to(folder).parts):
            continue
        fmt = format_of(f.name)
        if fmt == "parquet":
            n += pq.ParquetFile(f).metadata.num_rows
        elif fmt == "jsonl":
            with open_input(str(f)) as fh:
                n += sum(1 for line in _stream(fh, str(f)) if line.strip())
        elif fmt in ("csv", "tsv", "json") or f.suffix == ".arrow":
            return None  # quoted newlines / arrays: not counted cheaply
    return n
