"""A named input of a pipeline: where to read, how to map its columns, per-source operators.

Column mapping (recipe keys):
    map:      {target: source_column}          rename / copy
    set:      {target: constant}               constant value
    template: {target: "Summarise: {title}"}   simple {field} substitution, vectorised
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import polars as pl

from dataforge.errors import ConfigError, InputError
from dataforge.io import read
from dataforge.io.check import TEXT_COLUMNS, check_batch
from dataforge.schema import ORIGIN

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Source:
    name: str
    path: Any = None  # str path/glob/folder, or an in-memory table / datasets object
    format: str | None = None
    map: dict[str, str] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)
    template: dict[str, str] = field(default_factory=dict)
    ops: list = field(default_factory=list)  # operators applied to this source only
    on_error: str = "fail"  # or "quarantine"
    limit: int | None = None
    keep: list[str] = field(default_factory=list)  # extra columns to keep through conform
    options: dict = field(default_factory=dict)  # split/config for datasets, separator for csv

    def __post_init__(self):
        if self.on_error not in ("fail", "quarantine"):
            raise ConfigError(f"source '{self.name}': on_error must be 'fail' or 'quarantine', got {self.on_error!r}")
        if self.path is None:
            raise ConfigError(f"source '{self.name}': needs a `path`")
        if self.format is not None and self.format not in read.FORMATS:
            raise ConfigError(f"source '{self.name}': format must be one of {read.FORMATS}, got {self.format!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or isinstance(self.limit, bool)
                                       or self.limit < 0):
            raise ConfigError(f"source '{self.name}': limit must be an integer >= 0, got {self.limit!r}")
        for target, value in self.set.items():
            if target in TEXT_COLUMNS and value is not None and not isinstance(value, str):
                raise ConfigError(f"source '{self.name}': set {target}: must be text (quote it in YAML), "
                                  f"got {type(value).__name__} {value!r}")
        for op in self.ops:
            # a source's ops run on each batch as it is read: a global operator there would see
            # one batch at a time (a dedup would find copies only within a batch, silently)
            if getattr(op, "kind", None) == "global":
                raise ConfigError(
                    f"source '{self.name}': '{op.name}' is a global operator (it needs every row at once); a "
                    f"source's `ops` run on one batch at a time. Put it in the pipeline: to work on the raw "
                    f"fields before a conversion, put `convert` in the pipeline after it "
                    f"(e.g. dedup_exact with fields: [text], then convert: each row keeps its source)")
        unknown = sorted(set(self.options) - {"split", "config", "separator"})
        if unknown:
            raise ConfigError(f"source '{self.name}': unknown option(s) {unknown}; valid: ['config', 'separator', 'split']")

    def record_fields(self) -> set[str]:
        """Input fields whose presence makes a row a record (instruction/output, through `map`);
        empty when `set`/`template` supply both, so every row is a record."""
        return {self.map.get(c, c) for c in ("instruction", "output") if c not in self.set and c not in self.template}

    def text_fields(self) -> set[str]:
        """Input fields that must hold text: canonical text columns read as they are, and the
        fields `map` copies into them."""
        text = [c for c in TEXT_COLUMNS if c != "id"]  # ids may also be integers
        mapped = {col for target, col in self.map.items() if target in text}
        direct = {c for c in text if c not in self.map and c not in self.set and c not in self.template}
        return mapped | direct

    def template_fields(self) -> list[str]:
        """The input fields that `template` renders."""
        return sorted({m.group(1) for tpl in self.template.values()
                       for m in _FIELD.finditer(tpl.replace("{{", "").replace("}}", ""))})

    def _input_field(self, target: str) -> str | None:
        """The input field that becomes `target` (None when `set` or `template` make it)."""
        if target in self.set or target in self.template:
            return None
        return self.map.get(target, target)

    @property
    def in_memory(self) -> bool:
        return not isinstance(self.path, (str, bytes)) and not hasattr(self.path, "__fspath__")

    def resolved_format(self) -> str:
        if self.in_memory:
            return "table"
        return self.format or read.detect_format(str(self.path))

    def fingerprint(self) -> Any:
        spec = {"name": self.name, "format": self.format, "map": self.map, "set": self.set,
                "template": self.template, "on_error": self.on_error, "limit": self.limit,
                "keep": self.keep, "options": self.options,
                "ops": [op.fingerprint() for op in self.ops]}
        if self.in_memory:
            import hashlib

            df = _as_frame(self.path)
            spec["data"] = hashlib.sha256(df.write_ipc(None).getvalue()).hexdigest()
        else:
            spec["files"] = read.fingerprint(str(self.path), self.resolved_format())
        return spec

    def batches(self, batch_size: int, origin: bool = True) -> Iterator[read.Batch]:
        """Checked, mapped batches of the input; with `origin`, each row's position in it as
        the `_origin` column (see `origin`)."""
        left = self.limit
        fmt = None if self.in_memory else self.resolved_format()
        # JSON rows need not all hold a field, so a batch may lack one that `map` or `template`
        # names: it is null there, and an error only if no row of the source has it
        named = sorted(set(self.map.values()) | set(self.template_fields())) if fmt in ("json", "jsonl") else []
        seen: set[str] = set()
        columns: list[str] = []
        for b in read.iter_batches(self.path, fmt, batch_size=batch_size,
                                   on_error=self.on_error, options=self.options,
                                   text_fields=self.text_fields(), record_fields=self.record_fields(),
                                   meta_field=self._input_field("meta"), id_field=self._input_field("id"),
                                   number_text=self.template_fields()):
            if left is not None:
                if left <= 0:
                    return
                if b.rows.height + len(b.bad) > left:
                    b = _first_records(b, left)
                left -= b.rows.height + len(b.bad)
            if named and b.rows.height:
                seen.update(c for c in named if c in b.rows.columns)
                columns = [c for c in b.rows.columns if not c.startswith(read.NUMBER_TEXT)]
                b.rows = b.rows.with_columns(pl.lit(None).alias(c) for c in named
                                             if c not in b.rows.columns)
            if b.rows.width or b.rows.height:
                b.rows = self.apply_mapping(b.rows)
            b = check_batch(b, self.name, self.on_error == "quarantine")
            if b.bad and b.file is not None:  # rejects name the file as meta.origin does
                rel = self._relative(b.file)
                b.bad = [x | {"file": rel} if x.get("file") == b.file else x for x in b.bad]
            if b.bad and b.unit == "row":
                # a table's rows are rows, not lines: the reject's detail says where as
                # meta.origin does ({"file": "part-0.parquet", "row": 3}; in-memory tables and
                # `datasets` objects have no file: {"split": "train", "row": 3})
                head = {"split": b.split} if b.split is not None else {}
                b.bad = [x | {"where": ({"file": x["file"]} if b.file is not None else {}) | head | {"row": x["line"]}}
                         for x in b.bad]
            if origin and b.rows.height and b.lines is not None:
                b.rows = b.rows.with_columns(self.origin(b).alias(ORIGIN))
            yield b
        never = [c for c in named if c not in seen]
        if never and columns:
            what = [f"map {t} <- '{c}'" for t, c in self.map.items() if c in never] + \
                [f"template {t}" for t, tpl in self.template.items() if any("{" + c + "}" in tpl for c in never)]
            raise InputError(f"source '{self.name}' ({self.path}): {', '.join(what)}: no row has the field(s) "
                             f"{never}; fields are {columns}")

    def origin(self, b: read.Batch) -> pl.Series:
        """Where each row of `b` was read: `{"file": "part-1.jsonl", "line": 12}` (Parquet and
        tables: `"row"`), as JSON text. The file is named relative to the source's path (its
        folder, or the fixed part of its glob), so it is the same on every machine and never
        shows a user's home folder."""
        head = {}
        if b.file is not None:
            head["file"] = self._relative(b.file)
        if b.split is not None:
            head["split"] = b.split
        prefix = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1] + ("," if head else "") \
            + f'"{b.unit}":'
        n = pl.int_range(b.lines.start, b.lines.stop, eager=True) if isinstance(b.lines, range) \
            else pl.Series(b.lines, dtype=pl.Int64)
        return pl.select(pl.concat_str([pl.lit(prefix), pl.lit(n).cast(pl.Utf8), pl.lit("}")])).to_series()

    def _relative(self, file: str) -> str:
        return os.path.relpath(file, self._root()).replace(os.sep, "/")

    def _root(self) -> str:
        path = str(self.path)
        if any(ch in path for ch in "*?["):
            fixed = re.split(r"[*?\[]", path, maxsplit=1)[0]
            return fixed if fixed.endswith(("/", os.sep)) else (os.path.dirname(fixed) or ".")
        return path if os.path.isdir(path) else (os.path.dirname(path) or ".")

    def apply_mapping(self, df: pl.DataFrame) -> pl.DataFrame:
        exprs = []
        for target, col in self.map.items():
            if col not in df.columns:
                raise InputError(f"source '{self.name}' ({self.path}): map {target} <- '{col}': "
                                 f"no field '{col}'; fields are {df.columns}")
            exprs.append(pl.col(col).alias(target))
        for target, tpl in self.template.items():
            exprs.append(render_simple(tpl, df.columns, where=f"source '{self.name}' template {target}").alias(target))
        for target, value in self.set.items():
            exprs.append(pl.lit(value).alias(target))
        hidden = [c for c in df.columns if c.startswith(read.NUMBER_TEXT)]
        return (df.with_columns(exprs) if exprs else df).drop(hidden)


def render_simple(template: str, columns: list[str], where: str = "template") -> pl.Expr:
    """'{a} and {b}' -> concat_str expression; nulls render as ''. `{{`/`}}` escape braces.
    A JSON number renders as the file wrote it (read.NUMBER_TEXT columns), others as Polars
    casts them to text."""
    parts: list[pl.Expr] = []
    pos = 0
    text = template.replace("{{", "\x00").replace("}}", "\x01")
    for m in _FIELD.finditer(text):
        if m.start() > pos:
            parts.append(pl.lit(_unescape(text[pos:m.start()])))
        name = m.group(1)
        if name not in columns:
            shown = [c for c in columns if not c.startswith(read.NUMBER_TEXT)]
            raise InputError(f"{where}: field '{name}' not found; fields are {shown}")
        value = pl.col(name).cast(pl.Utf8)
        if read.NUMBER_TEXT + name in columns:  # a JSON number as the file wrote it
            value = pl.coalesce(pl.col(read.NUMBER_TEXT + name), value)
        parts.append(value.fill_null(""))
        pos = m.end()
    if pos < len(text):
        parts.append(pl.lit(_unescape(text[pos:])))
    return pl.concat_str(parts) if parts else pl.lit("")


def _unescape(s: str) -> str:
    return s.replace("\x00", "{").replace("\x01", "}")


def _as_frame(obj: Any) -> pl.DataFrame:
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if read._is_hf(obj):
        return pl.concat([b.rows for b in read._iter_hf_obj(obj, 1 << 30, None)], how="diagonal_relaxed")
    return pl.from_arrow(obj)


def _first_records(b: read.Batch, n: int) -> read.Batch:
    """The batch cut to its first `n` records, good and malformed alike in file order: a
    source's `limit` counts the lines it reads, so `limit: 1000` over a file with four
    malformed lines gives 996 rows and 4 rejects, not 1,004 records."""
    if b.lines is not None and all(isinstance(x.get("line"), int) for x in b.bad):
        order = sorted([(ln, 0, i) for i, ln in enumerate(b.lines)] + [(x["line"], 1, j) for j, x in enumerate(b.bad)])[:n]
    else:  # (positions unknown: good rows first, as read)
        order = [(i, 0, i) for i in range(b.rows.height)][:n]
        order += [(0, 1, j) for j in range(len(b.bad))][:n - len(order)]
    rows = sorted(i for _, k, i in order if k == 0)
    bad = sorted(j for _, k, j in order if k == 1)
    return dataclasses.replace(b, rows=b.rows[rows], bad=[b.bad[j] for j in bad], read=len(order),
                               lines=[b.lines[i] for i in rows] if b.lines is not None else None,
                               raws=[b.raws[i] for i in rows] if b.raws is not None else None)
