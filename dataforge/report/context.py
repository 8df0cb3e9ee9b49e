"""Rows shown in context: each dropped duplicate beside the row that was kept, derived rows beside
their parent, identical prompts with different answers, and the bounded sample table.

Rows are looked up by id in the shards first, then in the rejects (a kept duplicate or a parent
may have been removed by a later stage). Only the few ids shown are read in full.
"""
from __future__ import annotations

import json

import polars as pl

from dataforge.schema import is_score

CLIP = 400
SHOWN = ("id", "instruction", "input", "output", "source", "task", "split", "parent_id")
PAIRS_PER_RULE = 4
PARENTS = 6
CONFLICTS = 5


def clip(col: str, n: int = CLIP) -> pl.Expr:
    c = pl.col(col).cast(pl.Utf8).fill_null("")
    return pl.when(c.str.len_chars() > n).then(c.str.slice(0, n) + "…").otherwise(c).alias(col)


def display(df: pl.DataFrame, n: int = CLIP) -> list[dict]:
    """Rows as the page shows them: clipped text, scores gathered under `scores`."""
    scores = [c for c in df.columns if is_score(c)]
    cols = [c for c in SHOWN if c in df.columns] + [c for c in ("reason", "stage", "status") if c in df.columns]
    texts = [c for c in ("instruction", "input", "output") if c in df.columns]
    d = df.select([clip(c, n) if c in texts else pl.col(c) for c in cols]
                  + ([pl.struct(scores).alias("scores")] if scores else []))
    rows = d.to_dicts()
    # a rejected row keeps its scores inside `raw` (the rejects hold no score columns)
    raws = df["raw"].to_list() if "raw" in df.columns and df.schema["raw"] == pl.Utf8 else [None] * len(rows)
    for r, raw in zip(rows, raws):
        if "scores" in r:
            r["scores"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r["scores"].items()
                           if v is not None}
        else:
            r["scores"] = _raw_scores(raw)
    return rows


def _raw_scores(raw: str | None) -> dict:
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {k: round(v, 4) for k, v in doc.items() if is_score(k) and isinstance(v, (int, float))
            and not isinstance(v, bool)} if isinstance(doc, dict) else {}


def lookup(kept: pl.LazyFrame | None, rejects: pl.LazyFrame | None, ids: list[str]) -> dict[str, dict]:
    """{id: displayed row} from the shards, else from the rejects (status tells which)."""
    found: dict[str, dict] = {}
    ids = [i for i in dict.fromkeys(ids) if i]
    for lf, status in ((kept, "kept"), (rejects, "rejected")):
        want = [i for i in ids if i not in found]
        if lf is None or not want:
            continue
        df = lf.filter(pl.col("id").is_in(want)).unique("id", keep="first", maintain_order=True).collect()
        for r in display(df.with_columns(pl.lit(status).alias("status"))):
            found.setdefault(r["id"], r)
    return found


def duplicate_pairs(rej: pl.DataFrame | None, kept: pl.LazyFrame | None, rejects: pl.LazyFrame | None) -> list[dict]:
    """A few dropped duplicates per rule, each with the row kept in its place (`detail.kept_id`)."""
    if rej is None or "detail" not in rej.columns:
        return []
    dup = (rej.filter(pl.col("reason").str.starts_with("duplicate") & pl.col("detail").is_not_null())
           .with_columns(pl.col("detail").str.json_path_match("$.kept_id").alias("kept_id"),
                         pl.col("reason").str.split(":").list.first().str.strip_chars().alias("rule"))
           .filter(pl.col("kept_id").is_not_null())
           .group_by("stage", "rule", maintain_order=True).head(PAIRS_PER_RULE))
    if dup.height == 0:
        return []
    # (an exact copy shares the kept row's id: where the kept row was removed later, by a
    # selection, look for it among the rejects that are not duplicates first, or the dropped
    # copy would be shown as the row kept in its place)
    ids = dup["kept_id"].to_list()
    not_copies = rejects.filter(~pl.col("reason").fill_null("").str.starts_with("duplicate")) \
        if rejects is not None and "reason" in rejects.collect_schema().names() else rejects
    kept_rows = lookup(kept, not_copies, ids)
    kept_rows |= lookup(None, rejects, [i for i in ids if i not in kept_rows])
    full = dup.select("id", "stage", "kept_id", "rule")
    if rejects is not None:  # the dropped rows' text, matched on (id, stage): an exact copy shares its id
        text = (rejects.filter(pl.col("id").is_in(dup["id"].implode()) & pl.col("stage").is_in(dup["stage"].unique().implode()))
                .unique(["id", "stage"], maintain_order=True).collect())
        full = full.join(text, on=["id", "stage"], how="left", maintain_order="left")
    dropped = display(full.with_columns(pl.lit("rejected").alias("status")))
    return [{"rule": r, "stage": s, "dropped": d, "kept": kept_rows.get(k)}
            for r, s, k, d in zip(dup["rule"], dup["stage"], dup["kept_id"], dropped)]


def parent_pairs(kept: pl.LazyFrame | None, rejects: pl.LazyFrame | None, cols: list[str]) -> dict:
    """Augmented / generated rows beside their parent: rows whose parent_id is a row of this run
    (kept or rejected). A converted or imported row's parent_id names its raw source row, which
    is provenance, not a row to show beside it (a converted run would list every row)."""
    if kept is None or "parent_id" not in cols:
        return {"rows": 0, "pairs": []}
    # ids and sources only: the texts are read for the few rows shown
    narrow = kept.select("id", "parent_id", "source" if "source" in cols else pl.lit(None, pl.Utf8).alias("source")) \
        .filter(pl.col("parent_id").is_not_null() & (pl.col("parent_id") != ""))
    ids = [kept.select("id")]
    if rejects is not None and "id" in rejects.collect_schema().names():
        ids.append(rejects.select(pl.col("id").cast(pl.Utf8)))
    derived = narrow.join(pl.concat(ids).unique(), left_on="parent_id", right_on="id", how="semi",
                          maintain_order="left")
    # one child per source first, so every generator / augmenter shows up
    n, picks = pl.collect_all([derived.select(pl.len()),
                               derived.group_by("source", maintain_order=True).head(max(1, PARENTS // 2)).head(PARENTS)])
    n = int(n.item())
    if n == 0:
        return {"rows": 0, "pairs": []}
    children = lookup(kept, None, picks["id"].to_list())
    parents = lookup(kept, rejects, picks["parent_id"].to_list())
    rows = [children[i] for i in picks["id"] if i in children]
    return {"rows": n, "pairs": [{"child": c, "parent": parents.get(c["parent_id"])} for c in rows]}


def conflicting_answers(kept: pl.LazyFrame | None, cols: list[str]) -> dict:
    """Identical prompts (instruction + input) answered differently in the output."""
    if kept is None or not {"instruction", "output"} <= set(cols):
        return {"groups": 0, "rows": 0, "examples": []}
    inp = pl.col("input").fill_null("") if "input" in cols else pl.lit("")
    key = pl.concat_str([pl.col("instruction").fill_null(""), inp], separator="\x1f").hash(7).alias("_k")
    g = (kept.select(key, pl.col("output").fill_null("").hash(7).alias("_o"))
         .group_by("_k").agg(pl.len().alias("rows"), pl.col("_o").n_unique().alias("answers"))
         .filter(pl.col("answers") > 1).collect())
    if g.height == 0:
        return {"groups": 0, "rows": 0, "examples": []}
    top = g.sort(["answers", "rows", "_k"], descending=[True, True, False]).head(CONFLICTS)
    rows = (kept.with_columns(key).filter(pl.col("_k").is_in(top["_k"].implode()))
            .select([c for c in ("_k", "id", "instruction", "input", "output", "source", "task") if c in cols or c == "_k"])
            .collect())
    examples = []
    for k in top["_k"]:
        grp = rows.filter(pl.col("_k") == k).unique("output", keep="first", maintain_order=True).head(4)
        shown = display(grp.drop("_k"))
        examples.append({"instruction": shown[0]["instruction"], "input": shown[0].get("input", ""),
                         "answers": [{"id": r["id"], "output": r["output"], "source": r.get("source"),
                                      "task": r.get("task")} for r in shown]})
    return {"groups": g.height, "rows": int(g["rows"].sum()), "examples": examples}


def sample_table(kept_sample: pl.DataFrame, rejected: pl.DataFrame | None, size: int) -> list[dict]:
    """A bounded mix of kept rows and (up to a quarter) rejected rows for the page's table."""
    n_rej = 0 if rejected is None else min(rejected.height, size // 4)
    parts = [kept_sample.head(size - n_rej).with_columns(pl.lit("kept").alias("status"))]
    if n_rej:
        parts.append(rejected.head(n_rej).with_columns(pl.lit("rejected").alias("status")))
    return display(pl.concat(parts, how="diagonal_relaxed"), 200)
