"""Queries over one run's shards and rejects, answered from the run's explore cache (`store.py`).

Filters, counts and sorts run on the in-memory index of small columns (a page of a sorted
selection is a top-k); the rows a page shows are gathered by row number from the memory-mapped
rows file; a text search scans the text columns there, in place. Parquet is read once, when the
cache is built. Kept rows come from `data/`, rejected rows from `rejects/`; `status` tells them
apart (an exact copy may share its id with the row that was kept: rows are addressed by number).
"""
from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dataforge.errors import InputError
from dataforge.explore.store import open_store
from dataforge.report.collect import load_manifest
from dataforge.schema import is_score

BASE = ("id", "instruction", "input", "output", "system", "source", "task", "lang", "split", "parent_id",
        "meta", "reason", "stage", "operator", "detail", "status")
TEXT = ("instruction", "input", "output")
# what a page of the list shows; a row opened shows every column
LISTED = ("id", "instruction", "output", "source", "task", "split", "parent_id", "reason", "status")
MAX_LIMIT = 500
SEARCHES = 8  # text-search selections remembered per run
TIES = 50_000  # rows at or beyond a page's edge value sorted outright (more: a top-k)


@dataclass
class Query:
    status: str = ""  # "", "kept" or "rejected"
    source: list[str] = field(default_factory=list)
    task: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)  # the part of a reject reason before ":"
    scores: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    q: str = ""  # text search in instruction, input and output (case-insensitive)
    sort: str = ""  # a score column (or any column); "" keeps file order
    desc: bool = True
    offset: int = 0
    limit: int = 50

    @classmethod
    def from_params(cls, params, score_cols: list[str]) -> "Query":
        """From URL parameters: lists as repeated keys or comma-separated; score_X_min / score_X_max."""
        def many(k):
            vals = params.getlist(k) if hasattr(params, "getlist") else [params.get(k)] if params.get(k) else []
            return [v for x in vals for v in str(x).split(",") if v]

        def num(k):
            v = params.get(k)
            if v in (None, ""):
                return None
            try:
                return float(v)
            except ValueError:
                raise InputError(f"parameter {k}: not a number: {v!r}") from None

        scores = {}
        for c in score_cols:
            lo, hi = num(f"{c}_min"), num(f"{c}_max")
            if lo is not None or hi is not None:
                scores[c] = (lo, hi)
        return cls(status=params.get("status", "") or "", source=many("source"), task=many("task"),
                   split=many("split"), rule=many("rule"), scores=scores, q=params.get("q", "") or "",
                   sort=params.get("sort", "") or "", desc=str(params.get("desc", "1")) not in ("0", "false", ""),
                   offset=max(0, int(num("offset") or 0)), limit=max(1, min(MAX_LIMIT, int(num("limit") or 50))))


class Run:
    """One output folder, answered from its explore cache (`store.py`): the filter and sort columns
    (id, source, task, split, rule, scores, parent_id, the kept id of a dropped duplicate) are held
    in memory, tens of bytes per row; every other column stays in a memory-mapped file and is read
    for the rows a page shows, or, for a text search, scanned in place (the candidates only)."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.manifest = load_manifest(self.out)
        self.label = self.manifest.get("name") or self.out.name
        files = [(self.out / "data" / sh["path"], "kept", sh.get("split")) for sh in self.manifest.get("shards", [])]
        files += [(self.out / r["path"], "rejected", None) for r in self.manifest.get("rejects", [])]
        self.files = [(p, st, sp) for p, st, sp in files if p.is_file()]
        if not self.files:
            raise InputError(f"{self.out}: the run has neither shards nor rejects")
        have: set[str] = set()
        for p, _, _ in self.files:
            have |= set(pl.read_parquet_schema(p))
        self.score_cols = sorted(c for c in have if is_score(c))
        self.columns = [c for c in BASE if c in have or c in ("split", "status")] + self.score_cols
        self.store = open_store(self.out, self.files, self.columns)
        # `_i`: the row number in the rows file
        self.index = self.store.index.with_row_index("_i")
        self.rows = self.store.rows
        self.searches: OrderedDict[tuple, pl.Series] = OrderedDict()  # row numbers of the last searches
        self._lock = threading.Lock()  # the server answers from a thread pool

    def warm(self) -> None:
        """Touch the text columns once (a search that matches nothing), so the first real search
        does not pay for mapping the file's pages in: the server runs this in the background."""
        self._search(self.index, "\x00\x01", everything=True)

    def take(self, i: pl.Series, columns: list[str] | None = None) -> pl.DataFrame:
        """Rows by row number (in the order given), `columns` only (default all)."""
        return self.rows.select(pl.col(columns or self.columns).gather(i))

    # -- facets ---------------------------------------------------------------------
    def info(self) -> dict:
        facets = {}
        for c in ("source", "task", "split", "lang", "rule"):
            if c in self.index.columns:
                vc = self.index.group_by(c).len().sort(["len", c], descending=[True, False]).head(200)
                facets[c] = [{"value": v, "rows": n} for v, n in vc.iter_rows() if v is not None]
        ranges = {c: {"min": self.index[c].min(), "max": self.index[c].max()} for c in self.score_cols}
        totals = self.manifest.get("totals", {})
        cache = {"folder": str(self.store.folder), "built": self.store.built, "seconds": round(self.store.seconds, 3)}
        return {"label": self.label, "out": str(self.out), "columns": self.columns, "scores": ranges, "cache": cache,
                "facets": facets, "totals": {"kept": totals.get("rows_out"), "rejected": totals.get("rows_rejected")}}

    # -- filtering ------------------------------------------------------------------
    def predicate(self, q: Query) -> pl.Expr | None:
        """Everything but the text search, on the index."""
        if q.status and q.status not in ("kept", "rejected"):
            raise InputError(f"status must be 'kept' or 'rejected', got {q.status!r}")
        preds = [pl.col("status") == q.status] if q.status else []
        for col, vals in (("source", q.source), ("task", q.task), ("split", q.split), ("rule", q.rule)):
            if vals:
                # equality on a categorical compares codes: ~10x faster than casting to text for is_in
                preds.append(pl.any_horizontal([pl.col(col) == v for v in vals]) if col in self.index.columns
                             else pl.lit(False))
        for c, (lo, hi) in q.scores.items():
            if c not in self.score_cols:
                raise InputError(f"unknown score column {c!r}; the run has {self.score_cols}")
            preds.append(pl.col(c).is_not_nan())  # Polars orders NaN above every number: not "in range"
            if lo is not None:
                preds.append(pl.col(c) >= lo)
            if hi is not None:
                preds.append(pl.col(c) <= hi)
        return pl.all_horizontal(preds) if preds else None

    def selection(self, q: Query) -> pl.DataFrame:
        """The index rows the filters and the text search keep, in file order. The last few searches
        are remembered (paging or re-sorting a search does not scan the text again)."""
        pred = self.predicate(q)
        idx = self.index.filter(pred) if pred is not None else self.index
        if not q.q:
            return idx
        key = (q.status, *(tuple(v) for v in (q.source, q.task, q.split, q.rule)), tuple(sorted(q.scores.items())), q.q)
        with self._lock:
            hit = self.searches.get(key)
            if hit is not None:
                self.searches.move_to_end(key)
        if hit is not None:
            return self.index.select(pl.all().gather(hit))
        found = self._search(idx, q.q, everything=pred is None)
        with self._lock:
            self.searches[key] = found["_i"]  # row numbers only: 4 bytes a row
            while len(self.searches) > SEARCHES:
                self.searches.popitem(last=False)
        return found

    def ordered(self, idx: pl.DataFrame, q: Query, first: int | None = None) -> pl.DataFrame:
        """`idx` sorted as asked; only its `first` rows in that order, when given."""
        if q.sort and q.sort not in self.index.columns or q.sort in ("_i", "_f"):
            sortable = [c for c in self.index.columns if c not in ("_i", "_f")]
            raise InputError(f"cannot sort by {q.sort!r}; sortable: {sortable}")
        if not q.sort:
            return idx if first is None else idx.head(first)
        order = dict(descending=[q.desc, False], nulls_last=True)
        if first is not None and first < idx.height:
            # a page needs the first rows of the order only (nulls last, NaN above every number, ties
            # by id: the order of the full sort below)
            c, vals = pl.col(q.sort), idx[q.sort]
            if vals.dtype.is_numeric() and vals.len() - vals.null_count() >= first:
                # the value of the first-th row, then every row on that side of it (ties included): a
                # top-k on one number column, ~10x faster than a top-k by (value, id) or a full sort
                edge = vals.drop_nulls()
                edge = edge.top_k(first).sort()[0] if q.desc else edge.bottom_k(first).sort()[-1]
                idx = idx.filter(c >= edge if q.desc else c <= edge)  # Polars compares NaN as the largest
                if idx.height <= TIES:
                    return idx.sort([q.sort, "id"], **order).head(first)
                # many rows share the edge value (a coarse score): top-k by (value, id) among them
            top = (idx.top_k(first, by=[c.is_not_null(), c, "id"], reverse=[False, False, True]) if q.desc
                   else idx.bottom_k(first, by=[c.is_null(), c, "id"], reverse=[False, False, False]))
            return top.sort([q.sort, "id"], **order)
        return idx.sort([q.sort, "id"], **order)

    def keys(self, q: Query, first: int | None = None) -> pl.DataFrame:
        """The index rows of the selection, sorted as asked (only the `first` rows of the order, when given)."""
        if q.sort:
            self.ordered(self.index.head(0), q)  # an unknown sort column fails before any work
        return self.ordered(self.selection(q), q, first)

    def _search(self, idx: pl.DataFrame, text: str, everything: bool) -> pl.DataFrame:
        """Rows of `idx` whose instruction, input or output contains `text` (case-insensitive), scanned
        in the memory-mapped rows file: all of it, or only the candidates' text when filters narrowed them."""
        fields = [f for f in TEXT if f in self.columns]
        if not fields:
            return idx.head(0)
        pat = "(?i)" + re.escape(text)
        cols = self.rows.select(fields) if everything else self.take(idx["_i"], fields)
        has = lambda f: pl.col(f).str.contains(pat).fill_null(False)  # noqa: E731
        short = [f for f in fields if f != "output"]
        hit = cols.select(pl.any_horizontal([has(f) for f in short])).to_series() if short \
            else pl.Series([False] * cols.height)
        if "output" in fields:
            # the long column last; when the short ones already matched most rows, only the others' outputs
            rest = (~hit).arg_true()
            if rest.len() < cols.height // 2:
                hit = hit.scatter(rest, cols.select(pl.col("output").gather(rest)).select(has("output")).to_series())
            else:
                hit = hit | cols.select(has("output")).to_series()
        return idx.filter(hit)

    def page(self, q: Query) -> dict:
        if q.sort:
            self.ordered(self.index.head(0), q)
        sel = self.selection(q)
        keys = self.ordered(sel, q, first=q.offset + q.limit).slice(q.offset, q.limit)
        listed = [c for c in self.columns if c in LISTED or is_score(c)]
        return {"total": sel.height, "offset": q.offset, "limit": q.limit,
                "rows": self.take(keys["_i"], listed).to_dicts()}

    def fetch(self, keys: pl.DataFrame, columns: list[str] | None = None) -> list[dict]:
        """Rows for index rows (their `_i`), in the keys' order, `columns` only (default all)."""
        return self.take(keys["_i"], columns).to_dicts() if keys.height else []

    def export(self, q: Query, batch: int = 20_000):
        """The whole selection as JSONL, in batches of `batch` rows (the selection may be large)."""
        i = self.keys(q)["_i"]
        for start in range(0, i.len(), batch):
            yield self.take(i.slice(start, batch)).write_ndjson().encode()

    # -- one row in context -----------------------------------------------------------
    def row(self, id_: str, status: str = "") -> dict:
        """A row with its meta, parent, derived rows and duplicate cluster. Every related row is found
        in the index first, then all are gathered from the rows file at once."""
        idx = self.index
        me = idx.filter((pl.col("id") == id_) & ((pl.col("status") == status) if status else pl.lit(True))).head(5)
        if me.height == 0:
            raise InputError(f"no row with id {id_!r}" + (f" among {status} rows" if status else ""))
        first = me.row(0, named=True)
        parts = {"me": me}
        pid = first.get("parent_id")
        if pid:
            parts["parent"] = idx.filter(pl.col("id") == pid).sort(pl.col("status").cast(pl.Utf8)).head(1)
        if "parent_id" in idx.columns:
            parts["children"] = idx.filter(pl.col("parent_id") == id_).head(20)
        kept_id = first["id"] if first["status"] == "kept" else first.get("kept_id")
        if kept_id and "kept_id" in idx.columns:
            parts["members"] = idx.filter(pl.col("kept_id") == kept_id).head(50)
            # the row dedup kept: in the output, or rejected by a later stage for another reason
            parts["kept"] = (idx.filter((pl.col("id") == kept_id) & ((pl.col("status") == "kept") | pl.col("kept_id").is_null()))
                             .sort(pl.col("status").cast(pl.Utf8)).head(1))
        keys = pl.concat([d.select("_i") for d in parts.values()]).unique(maintain_order=True)
        rows = dict(zip(keys["_i"].to_list(), self.fetch(keys)))
        get = lambda d: [rows[i] for i in d["_i"].to_list()]  # noqa: E731
        found = get(parts["me"])
        row = dict(found[0])
        try:
            row["meta"] = json.loads(row["meta"]) if row.get("meta") else None
        except (TypeError, ValueError):
            pass
        parent = get(parts["parent"]) if "parent" in parts else []
        members = get(parts["members"]) if "members" in parts else []
        kept = get(parts["kept"]) if members and "kept" in parts else []
        cluster = {"kept": None, "members": []}
        if members:
            cluster = {"kept": kept[0] if kept else {"id": kept_id, "missing": True}, "members": members}
        return {"row": row, "also": [r["status"] for r in found[1:]],
                "parent": (parent[0] if parent else {"id": pid, "missing": True}) if pid else None,
                "children": get(parts["children"]) if "children" in parts else [], "cluster": cluster}
