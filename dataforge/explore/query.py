"""Queries over one run's shards and rejects, answered lazily with Polars (nothing is loaded whole).

A page is found in two passes: the filter and sort read only the columns they need (Parquet
projection and predicate pushdown) and return the page's keys; then only those rows are read
in full. Kept rows come from `data/`, rejected rows from `rejects/`; `status` tells them apart
(an exact copy may share its id with the row that was kept, so keys are (status, id)).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dataforge.errors import InputError
from dataforge.report.collect import kept_frame, load_manifest, reject_lazy
from dataforge.schema import is_score

BASE = ("id", "instruction", "input", "output", "system", "source", "task", "lang", "split", "parent_id",
        "meta", "reason", "stage", "operator", "detail", "status")
TEXT = ("instruction", "input", "output")
MAX_LIMIT = 500
RULE = pl.col("reason").str.split(":").list.first().str.strip_chars()


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
    """One output folder: its kept rows and rejects as one lazy frame with a `status` column."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.manifest = load_manifest(self.out)
        self.label = self.manifest.get("name") or self.out.name
        kept, rej = kept_frame(self.out, self.manifest), reject_lazy(self.out, self.manifest)
        parts = []
        if kept is not None:
            parts.append(kept.with_columns(pl.lit("kept").alias("status")))
        if rej is not None:
            parts.append(rej.with_columns(pl.lit("rejected").alias("status")))
        if not parts:
            raise InputError(f"{self.out}: the run has neither shards nor rejects")
        have = set()
        for p in parts:
            have |= set(p.collect_schema().names())
        self.score_cols = sorted(c for c in have if is_score(c))
        self.columns = [c for c in BASE if c in have] + self.score_cols
        # one schema for both halves so the union is a cheap vertical concat
        def align(lf):
            names = lf.collect_schema()
            return lf.select([pl.col(c).cast(pl.Float64 if is_score(c) else pl.Utf8) if c in names
                              else pl.lit(None, dtype=pl.Float64 if is_score(c) else pl.Utf8).alias(c)
                              for c in self.columns])
        self.frames = {("kept" if i == 0 and kept is not None else "rejected"): align(p) for i, p in enumerate(parts)}

    def frame(self, status: str = "") -> pl.LazyFrame:
        if status:
            if status not in ("kept", "rejected"):
                raise InputError(f"status must be 'kept' or 'rejected', got {status!r}")
            return self.frames.get(status, next(iter(self.frames.values())).head(0))
        return pl.concat(list(self.frames.values()), how="vertical")

    # -- facets ---------------------------------------------------------------------
    def info(self) -> dict:
        lf = self.frame()
        facets = {}
        for c in ("source", "task", "split", "lang"):
            if c in self.columns:
                vc = lf.group_by(c).len().sort("len", descending=True).head(200).collect()
                facets[c] = [{"value": v, "rows": n} for v, n in vc.iter_rows() if v is not None]
        if "reason" in self.columns and "rejected" in self.frames:
            vc = (self.frames["rejected"].group_by(RULE.alias("rule")).len().sort("len", descending=True)
                  .head(200).collect())
            facets["rule"] = [{"value": v, "rows": n} for v, n in vc.iter_rows() if v is not None]
        ranges = {}
        if self.score_cols:
            r = lf.select([e for c in self.score_cols for e in (pl.col(c).min().alias(f"{c}:min"),
                                                                pl.col(c).max().alias(f"{c}:max"))]).collect().row(0)
            ranges = {c: {"min": r[2 * i], "max": r[2 * i + 1]} for i, c in enumerate(self.score_cols)}
        totals = self.manifest.get("totals", {})
        return {"label": self.label, "out": str(self.out), "columns": self.columns, "scores": ranges,
                "facets": facets, "totals": {"kept": totals.get("rows_out"), "rejected": totals.get("rows_rejected")}}

    # -- filtering ------------------------------------------------------------------
    def predicate(self, q: Query) -> pl.Expr | None:
        preds = []
        for col, vals in (("source", q.source), ("task", q.task), ("split", q.split)):
            if vals:
                preds.append(pl.col(col).is_in(vals))
        if q.rule:
            preds.append(RULE.is_in(q.rule))
        for c, (lo, hi) in q.scores.items():
            if c not in self.score_cols:
                raise InputError(f"unknown score column {c!r}; the run has {self.score_cols}")
            if lo is not None:
                preds.append(pl.col(c) >= lo)
            if hi is not None:
                preds.append(pl.col(c) <= hi)
        if q.q:
            pat = "(?i)" + re.escape(q.q)
            preds.append(pl.any_horizontal([pl.col(f).str.contains(pat) for f in TEXT if f in self.columns]))
        return pl.all_horizontal(preds) if preds else None

    def selection(self, q: Query) -> pl.LazyFrame:
        lf = self.frame(q.status)
        pred = self.predicate(q)
        return lf.filter(pred) if pred is not None else lf

    def page(self, q: Query) -> dict:
        sel = self.selection(q)
        if q.sort and q.sort not in self.columns:
            raise InputError(f"cannot sort by {q.sort!r}; columns: {self.columns}")
        keys = sel.select("status", "id", *([q.sort] if q.sort and q.sort not in ("status", "id") else []))
        if q.sort:
            keys = keys.sort([q.sort, "id"], descending=[q.desc, False], nulls_last=True)
        keys = keys.slice(q.offset, q.limit)
        total, page = pl.collect_all([sel.select(pl.len()), keys])
        rows = self.fetch(page.select("status", "id"))
        return {"total": int(total.item()), "offset": q.offset, "limit": q.limit, "rows": rows}

    def fetch(self, keys: pl.DataFrame, columns: list[str] | None = None) -> list[dict]:
        """Full rows for (status, id) keys, in the keys' order."""
        if keys.height == 0:
            return []
        cols = columns or self.columns
        found = []
        for status, grp in keys.partition_by("status", as_dict=True).items():
            lf = self.frame(status[0])
            found.append(lf.filter(pl.col("id").is_in(grp["id"].implode())).select(cols)
                         .unique(["status", "id"], keep="first", maintain_order=True).collect())
        df = pl.concat(found, how="vertical")
        return keys.join(df, on=["status", "id"], how="left", maintain_order="left").to_dicts()

    def export(self, q: Query, batch: int = 20_000):
        """The whole selection as JSONL, in batches (the selection may be large)."""
        sel = self.selection(q)
        if q.sort:
            sel = sel.sort([q.sort, "id"], descending=[q.desc, False], nulls_last=True)
        batches = sel.collect_batches(chunk_size=batch) if hasattr(sel, "collect_batches") else [sel.collect()]
        for df in batches:
            if df.height:
                yield df.write_ndjson().encode()

    # -- one row in context -----------------------------------------------------------
    def row(self, id_: str, status: str = "") -> dict:
        lf = self.frame(status)
        rows = lf.filter(pl.col("id") == id_).collect().to_dicts()
        if not rows:
            raise InputError(f"no row with id {id_!r}" + (f" among {status} rows" if status else ""))
        row = rows[0]
        meta = row.get("meta")
        try:
            row["meta"] = json.loads(meta) if meta else None
        except (TypeError, ValueError):
            pass
        out = {"row": row, "also": [r["status"] for r in rows[1:]], "parent": None, "children": [],
               "cluster": {"kept": None, "members": []}}
        if row.get("parent_id"):
            par = self.frame().filter(pl.col("id") == row["parent_id"]).head(1).collect().to_dicts()
            out["parent"] = par[0] if par else {"id": row["parent_id"], "missing": True}
        kids = self.frame().filter(pl.col("parent_id") == id_).head(20).collect().to_dicts()
        out["children"] = kids
        out["cluster"] = self.cluster(row)
        return out

    def cluster(self, row: dict) -> dict:
        """The duplicate cluster of a row: the kept row and the rejected copies (dedup `detail`)."""
        if "rejected" not in self.frames or "detail" not in self.columns:
            return {"kept": None, "members": []}
        rej = self.frames["rejected"]
        detail = {}
        try:
            detail = json.loads(row.get("detail") or "{}") or {}
        except ValueError:
            pass
        kept_id = detail.get("kept_id") if isinstance(detail, dict) else None
        if row["status"] == "kept":
            kept_id = row["id"]
        if not kept_id:
            return {"kept": None, "members": []}
        members = (rej.filter(pl.col("detail").str.contains(f'"kept_id":"{kept_id}"', literal=True))
                   .head(50).collect().to_dicts())
        if not members:
            return {"kept": None, "members": []}
        # the row dedup kept: in the output, or rejected by a later stage for another reason
        kept = self.frame().filter((pl.col("id") == kept_id) & ((pl.col("status") == "kept") | ~pl.col("reason")
                                   .fill_null("").str.starts_with("duplicate"))).head(1).collect().to_dicts()
        return {"kept": kept[0] if kept else {"id": kept_id, "missing": True}, "members": members}
