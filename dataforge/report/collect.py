"""What the report shows, measured from an output folder: manifest + shards + rejects.

`collect(out)` returns a `RunData`: `summary` is plain JSON (written to report.json) and
`values` keeps the raw arrays (lengths, scores) the plots need to share bins across runs.
Sections whose inputs are absent carry a `note` instead of data, so the page says why.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from dataforge.errors import InputError
from dataforge.schema import is_score

TEXT_FIELDS = ("instruction", "input", "output")
COVERAGE = ("task", "source", "lang")
EXAMPLES = 5  # top and bottom rows shown per score
CLIP = 400  # characters of an example shown in the page


@dataclass
class RunData:
    out: Path
    summary: dict
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.summary["run"]["label"]


def load_manifest(out: Path) -> dict:
    path = out / "manifest.json"
    if not path.is_file():
        raise InputError(f"{out}: no manifest.json; is this the output folder of `dataforge run`?")
    return json.loads(path.read_text())


def collect(out: str | Path) -> RunData:
    out = Path(out)
    m = load_manifest(out)
    files = [out / "data" / s["path"] for s in m["shards"]]
    lf = pl.scan_parquet(files) if files else None
    cols = list(lf.collect_schema().names()) if lf is not None else []
    values: dict[str, np.ndarray] = {}
    summary = {
        "run": _run(out, m),
        "funnel": _funnel(m),
        "rejects": _rejects(out, m),
        "lengths": _lengths(lf, cols, values),
        "coverage": _coverage(lf, cols, m),
        "scores": _scores(lf, cols, values),
        "duplicates": _duplicates(out, m),
        "metrics": _metrics(m),
        "embedding": _embedding(m),
    }
    return RunData(out, summary, values)


def _run(out: Path, m: dict) -> dict:
    return {
        "label": m.get("name") or out.name, "out": str(out), "name": m.get("name"),
        "created_by": m.get("created_by", {}), "seed": m.get("seed"), "recipe_hash": m.get("recipe_hash"),
        "sources": m.get("sources", []), "splits": m.get("splits", {}), "totals": m.get("totals", {}),
        "exports": {k: sum(s["rows"] for s in v) for k, v in (m.get("exports") or {}).items()},
        "shards": len(m.get("shards", [])),
    }


def _funnel(m: dict) -> list[dict]:
    keys = ("name", "operator", "kind", "rows_in", "rows_out", "rows_rejected", "rows_added", "rejected_by_reason")
    return [{k: s.get(k) for k in keys} for s in m.get("stages", [])]


def _reject_frame(out: Path, m: dict) -> pl.DataFrame | None:
    files = [out / r["path"] for r in m.get("rejects", []) if (out / r["path"]).is_file()]
    if not files:
        return None
    return pl.concat([pl.read_parquet(f, columns=["id", "instruction", "output", "reason", "stage", "detail"])
                      for f in files], how="vertical_relaxed")


def _rejects(out: Path, m: dict) -> dict:
    rej = _reject_frame(out, m)
    if rej is None or rej.height == 0:
        return {"rows": 0, "examples": [], "note": "no rows were rejected"}
    rule = pl.col("reason").str.split(":").list.first().str.strip_chars().alias("rule")
    # a few rows of each (stage, rule) so a reader sees what each rule removed
    ex = (rej.with_columns(rule).group_by("stage", "rule", maintain_order=True).head(3)
          .select("stage", "rule", "reason", _clip("instruction"), _clip("output")))
    return {"rows": rej.height, "examples": ex.to_dicts()}


def _clip(col: str) -> pl.Expr:
    c = pl.col(col).fill_null("")
    return pl.when(c.str.len_chars() > CLIP).then(c.str.slice(0, CLIP) + "…").otherwise(c).alias(col)


def _lengths(lf: pl.LazyFrame | None, cols: list[str], values: dict) -> dict:
    fields = [f for f in TEXT_FIELDS if f in cols]
    if lf is None or not fields:
        return {"note": "no rows in the output"}
    exprs = []
    for f in fields:
        c = pl.col(f).fill_null("")
        exprs += [c.str.len_chars().alias(f"{f}:chars"), c.str.count_matches(r"\S+").alias(f"{f}:words")]
    df = lf.select(exprs).collect()
    res = {}
    for f in fields:
        words = df[f"{f}:words"].to_numpy()
        values[f"length:{f}"] = words
        res[f] = {"words": _stats(words), "chars": _stats(df[f"{f}:chars"].to_numpy()),
                  "empty": int((words == 0).sum())}
    return res


def _stats(a: np.ndarray) -> dict:
    a = a[~np.isnan(a)] if a.dtype.kind == "f" else a
    if a.size == 0:
        return {"n": 0}
    q = np.percentile(a, [5, 50, 95])
    return {"n": int(a.size), "mean": round(float(a.mean()), 4), "min": float(a.min()), "p5": float(q[0]),
            "p50": float(q[1]), "p95": float(q[2]), "max": float(a.max())}


def _coverage(lf: pl.LazyFrame | None, cols: list[str], m: dict) -> dict:
    res: dict = {"split": m.get("splits", {})}
    if lf is None:
        return res | {"note": "no rows in the output"}
    for c in COVERAGE:
        if c in cols:
            counts = lf.group_by(c).len().sort(["len", c], descending=[True, False]).collect()
            res[c] = {str(k): int(n) for k, n in counts.iter_rows()}
    return res


def _scores(lf: pl.LazyFrame | None, cols: list[str], values: dict) -> dict:
    score_cols = [c for c in cols if is_score(c)]
    if lf is None or not score_cols:
        return {"note": "no score_* columns in the output (add scoring steps to the recipe)"}
    shown = ["id", "source", "task", "instruction", "output"]
    res = {}
    for s in score_cols:
        df = lf.select([c for c in shown if c in cols] + [s]).filter(pl.col(s).is_not_null()
                                                                      & pl.col(s).is_not_nan()).collect()
        arr = df[s].to_numpy().astype(float)
        values[f"score:{s}"] = arr
        ranked = df.sort([s, "id"], descending=[True, False])
        ex = lambda d: d.with_columns(_clip("instruction"), _clip("output")).to_dicts()  # noqa: E731
        res[s] = {"stats": _stats(arr), "missing": int(lf.select(pl.col(s).is_null().sum()).collect().item()),
                  "top": ex(ranked.head(EXAMPLES)), "bottom": ex(ranked.tail(EXAMPLES).reverse())}
    return res


def _duplicates(out: Path, m: dict) -> dict:
    """Cluster sizes from the dedup rejects' detail (cluster_id), else from operator metrics."""
    res: dict = {}
    rej = _reject_frame(out, m)
    if rej is not None:
        dup = rej.filter(pl.col("reason").str.starts_with("duplicate") & pl.col("detail").is_not_null())
        if dup.height:
            cid = pl.col("detail").str.json_path_match("$.cluster_id")
            per = (dup.with_columns(cid.alias("cluster")).filter(pl.col("cluster").is_not_null())
                   .group_by("stage", "cluster").len())
            for stage, grp in per.partition_by("stage", as_dict=True).items():
                # a cluster is the kept row plus its rejected copies
                sizes = (grp["len"] + 1).value_counts().sort("len")
                res[stage[0]] = {str(k): int(n) for k, n in sizes.iter_rows()}
    for stage, metrics in (m.get("metrics") or {}).items():
        for key, v in (metrics or {}).items():
            if "cluster" in key and stage not in res and isinstance(v, dict) and _numeric_map(v):
                res[stage] = {str(k): int(n) for k, n in v.items()}
    if not res:
        return {"note": "no duplicate clusters recorded (no dedup step, or no duplicates found)"}
    return {"cluster_sizes": res}


def _numeric_map(v: dict) -> bool:
    return bool(v) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values())


def _metrics(m: dict) -> dict:
    """Dataset-level numbers of global operators: scalars as a table, small maps as bar charts."""
    scalars, maps = {}, {}
    for stage, metrics in (m.get("metrics") or {}).items():
        for key, v in _flatten(metrics or {}):
            name = f"{stage}.{key}"
            if key.split(".")[-1] == "embedding_2d":
                continue
            if v is None or isinstance(v, (bool, int, float, str)):
                scalars[name] = v
            elif isinstance(v, dict) and _numeric_map(v):
                # counts per category are charts; other number maps (stats, scores) are table rows
                counts = all(isinstance(x, int) for x in v.values())
                drawn_elsewhere = any(w in key for w in ("cluster", "lengths", "histogram"))
                if counts and not drawn_elsewhere and len(v) <= 40:
                    maps[name] = v
                elif not counts:
                    scalars.update({f"{name}.{k}": x for k, x in v.items()})
    if not scalars and not maps:
        return {"note": "no dataset metrics recorded (add a `dataset_metrics` step to the recipe)"}
    return {"scalars": scalars, "distributions": maps}


def _flatten(d: dict, prefix: str = ""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not _numeric_map(v) and key.split(".")[-1] != "embedding_2d":
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def _embedding(m: dict) -> dict:
    for stage, metrics in (m.get("metrics") or {}).items():
        pts = (metrics or {}).get("embedding_2d")
        if isinstance(pts, list) and pts and isinstance(pts[0], dict) and {"x", "y"} <= set(pts[0]):
            return {"stage": stage, "points": pts}
    return {"note": "no 2-D embedding sample recorded (the `dataset_metrics` step writes one)"}
