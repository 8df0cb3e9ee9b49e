"""What the report shows, measured from an output folder: manifest + shards + rejects.

`collect(out)` returns a `RunData`: `summary` is plain JSON (written to report.json) and
`values` keeps the raw arrays (lengths, scores) the plots need to share bins across runs.
Sections whose inputs are absent carry a `note` instead of data, so the page says why.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from dataforge.errors import InputError
from dataforge.report import breakdown as bd
from dataforge.report import context as ctx
from dataforge.words import WORD_RE
from dataforge.report import textstats, tokens
from dataforge.schema import is_score
from dataforge.score import verbnoun

TEXT_FIELDS = ("instruction", "input", "output")
COVERAGE = ("task", "source", "lang")
EXAMPLES = 5  # top and bottom rows shown per score
CLIP = 400  # characters of an example shown in the page
TIMING_KEYS = ("seconds", "wall_s", "elapsed_s", "started_at", "finished_at")
VERBS_DRAWN = 15  # verbs in the sunburst (with their top nouns)


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


@dataclass
class Options:
    """What a recipe's `output` section can set for the report (stored in the manifest)."""

    tokenizer: str | None = None  # local tokenizer folder or hub id; None = offline MiniLM WordPiece
    warn_share: float = 0.1  # a rule removing more than this share of one source / task is a warning
    sample_rows: int = 500  # rows in the page's sortable table
    analysis_rows: int = 20_000  # rows sampled for text statistics, verb-noun pairs and token estimates
    exact_token_rows: int = 50_000  # up to this many rows, tokens and words are counted on every row

    @classmethod
    def from_manifest(cls, m: dict, **override) -> "Options":
        known = {k: v for k, v in (m.get("report_options") or {}).items() if k in cls.__dataclass_fields__}
        return cls(**(known | {k: v for k, v in override.items() if v is not None}))


def kept_frame(out: Path, m: dict) -> pl.LazyFrame | None:
    """Every shard, lazily, with its split as a column."""
    parts = [pl.scan_parquet(out / "data" / s["path"]).with_columns(pl.lit(s["split"]).alias("split"))
             for s in m.get("shards", []) if (out / "data" / s["path"]).is_file()]
    return pl.concat(parts, how="diagonal_relaxed") if parts else None


def reject_lazy(out: Path, m: dict) -> pl.LazyFrame | None:
    files = [out / r["path"] for r in m.get("rejects", []) if (out / r["path"]).is_file()]
    return pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed") if files else None


def collect(out: str | Path, options: Options | None = None) -> RunData:
    out = Path(out)
    m = load_manifest(out)
    opts = options or Options.from_manifest(m)
    lf = kept_frame(out, m)
    cols = list(lf.collect_schema().names()) if lf is not None else []
    rlf = reject_lazy(out, m)
    rej = _reject_frame(rlf)
    values: dict[str, np.ndarray] = {}
    n = int(m.get("totals", {}).get("rows_out") or 0)
    sample = _sample(lf, n, opts.analysis_rows)
    coverage = _coverage(lf, cols, m)
    kept_counts = _kept_counts(lf, cols)
    breakdown = bd.rejects_by(rej, kept_counts, m, opts.warn_share)
    with ThreadPoolExecutor(2) as pool:
        # token counts (the tokenizer's own threads) and the sample's statistics run beside the
        # Polars scans of every row below: one after the other they kept about 1.3 of 2 cores busy
        tokens_f = pool.submit(_tokens, lf, cols, n, sample, opts, values)
        stats_f = pool.submit(lambda: (_text_stats(sample, values), _verb_noun(sample, m)))
        lengths = _lengths(lf, cols, values, n, sample, opts.exact_token_rows)
        scores = _scores(lf, cols, values, rlf)
        context = _context(lf, rlf, rej, cols)
        rejects = _rejects(rej, rlf)
        table = _sample_table(sample, rej, rlf, opts.sample_rows)
        embedding = _embedding(m, lf, rlf)
        token_stats = tokens_f.result()
        text_stats, verb_noun = stats_f.result()
    summary = {
        "run": _run(out, m),
        "warnings": breakdown["warnings"],
        "funnel": _funnel(m),
        "rejects": rejects,
        "breakdown": breakdown,
        "lengths": lengths,
        "tokens": token_stats,
        "coverage": coverage,
        "scores": scores,
        "context": context,
        "duplicates": _duplicates(rej, m),
        "text_stats": text_stats,
        "verb_noun": verb_noun,
        "metrics": _metrics(m),
        "embedding": embedding,
        "sample": table,
    }
    return RunData(out, summary, values)


def _sample(lf: pl.LazyFrame | None, n: int, size: int) -> pl.DataFrame | None:
    """A seeded, order-free sample of kept rows: every row whose id hash falls in 1 / (n / size)."""
    if lf is None or n == 0:
        return None
    mod = max(1, n // size)
    q = lf if mod == 1 else lf.filter(pl.col("id").hash(11) % mod == 0)
    return q.head(size).collect()


def _kept_counts(lf: pl.LazyFrame | None, cols: list[str]) -> dict[str, dict[str, int]]:
    res = {}
    for d in bd.DIMS:
        if lf is not None and d in cols:
            res[d] = dict(lf.group_by(pl.col(d).fill_null("(none)")).len().collect().iter_rows())
    return res


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
    # stage timings, when the manifest records them, travel along
    return [{k: s.get(k) for k in keys} | {k: v for k, v in s.items() if k in TIMING_KEYS}
            for s in m.get("stages", [])]


REJECT_COLS = ("id", "source", "task", "reason", "stage", "operator", "detail")


def _reject_frame(rlf: pl.LazyFrame | None) -> pl.DataFrame | None:
    """The small columns of every rejected row (text is read only for the rows shown)."""
    if rlf is None:
        return None
    have = rlf.collect_schema().names()
    return rlf.select([pl.col(c) if c in have else pl.lit(None, dtype=pl.Utf8).alias(c) for c in REJECT_COLS]).collect()


def _rejects(rej: pl.DataFrame | None, rlf: pl.LazyFrame | None) -> dict:
    if rej is None or rej.height == 0:
        return {"rows": 0, "examples": [], "note": "no rows were rejected"}
    # a few rows of each (stage, rule) so a reader sees what each rule removed
    pick = rej.with_columns(bd.RULE).group_by("stage", "rule", maintain_order=True).head(3)
    rows = ctx.lookup(None, rlf.filter(pl.col("stage").is_in(pick["stage"].unique().implode())),
                      pick["id"].to_list())
    ex = []
    for r in pick.iter_rows(named=True):
        shown = dict(rows.get(r["id"]) or {"id": r["id"]})
        shown.update(stage=r["stage"], rule=r["rule"], reason=r["reason"], operator=r["operator"])
        ex.append(shown)
    return {"rows": rej.height, "examples": ex}


def _clip(col: str) -> pl.Expr:
    return ctx.clip(col, CLIP)


def _lengths(lf: pl.LazyFrame | None, cols: list[str], values: dict, n: int = 0,
             sample: pl.DataFrame | None = None, exact_rows: int | None = None) -> dict:
    """Words and characters per field. Characters and empty texts are counted on every row;
    words too up to `exact_rows` rows, above that on the analysis sample (as token counts are):
    a word count is a regex pass over all text, the report's largest cost on big runs."""
    fields = [f for f in TEXT_FIELDS if f in cols]
    if lf is None or not fields:
        return {"note": "no rows in the output"}
    exact = exact_rows is None or n <= exact_rows or sample is None
    task = [pl.col("task").fill_null("(none)")] if "task" in cols else []
    exprs = list(task)
    for f in fields:
        c = pl.col(f).fill_null("")
        exprs += [c.str.len_chars().alias(f"{f}:chars"), (~c.str.contains(r"\S")).alias(f"{f}:empty")]
        if exact:
            exprs.append(c.str.count_matches(WORD_RE).alias(f"{f}:words"))
    df = lf.select(exprs).collect()
    counted = df if exact else sample.select(
        task + [pl.col(f).fill_null("").str.count_matches(WORD_RE).alias(f"{f}:words") for f in fields])
    res = {}
    for f in fields:
        words = counted[f"{f}:words"].to_numpy()
        values[f"length:{f}"] = words
        res[f] = {"words": _stats(words), "chars": _stats(df[f"{f}:chars"].to_numpy()),
                  "empty": int(df[f"{f}:empty"].sum()), "exact": exact, "rows_counted": counted.height}
    if "task" in counted.columns:
        res["per_task_words"] = bd.per_group(counted.rename({f"{f}:words": f for f in fields}), "task", fields)
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


def _tokens(lf: pl.LazyFrame | None, cols: list[str], n: int, sample: pl.DataFrame | None,
            opts: Options, values: dict) -> dict:
    """Tokens per field; totals per split and source (estimated from the sample on big runs)."""
    fields = [f for f in TEXT_FIELDS if f in cols]
    if lf is None or not fields or n == 0:
        return {"note": "no rows in the output"}
    try:
        counter = tokens.load(opts.tokenizer)
    except (ImportError, OSError, ValueError) as e:
        return {"note": f"no tokenizer could be loaded ({type(e).__name__}: {str(e)[:200]}); name one with "
                        "`output: {tokenizer: DIR_OR_HUB_ID}` or install dataforge[ml] for the offline default"}
    exact = n <= opts.exact_token_rows
    keys = [c for c in ("split", "source") if c in cols]
    df = lf.select(keys + fields).collect() if exact else sample.select(keys + fields)
    # one call over every field's texts: a word the fields share is tokenized once
    flat = counter.count([t for f in fields for t in df[f].fill_null("").to_list()])
    counts = {f: flat[i * df.height:(i + 1) * df.height] for i, f in enumerate(fields)}
    tok = df.select(keys).with_columns([pl.Series(f, counts[f]) for f in fields])
    tok = tok.with_columns(pl.sum_horizontal(fields).alias("all"))
    scale = 1.0 if exact else n / max(1, df.height)
    res: dict = {"tokenizer": counter.name, "special_tokens": False, "exact": exact, "rows_counted": df.height,
                 "fields": {}, "total": {}}
    for f in fields + ["all"]:
        a = tok[f].to_numpy()
        values[f"tokens:{f}"] = a
        res["fields"][f] = _stats(a)
        res["total"][f] = int(round(float(a.sum()) * scale))
    for k in keys:
        # per group: mean tokens per row counted x rows in the group (exact when every row was counted)
        rows = dict(lf.group_by(k).len().collect().iter_rows())
        g = tok.group_by(k).agg([pl.col(f).mean() for f in fields + ["all"]])
        res[f"by_{k}"] = {str(r[k]): {f: int(round(r[f] * rows.get(r[k], 0))) for f in fields + ["all"]}
                          for r in g.sort(k).iter_rows(named=True)}
    return res


def _scores(lf: pl.LazyFrame | None, cols: list[str], values: dict, rlf: pl.LazyFrame | None) -> dict:
    score_cols = [c for c in cols if is_score(c)]
    if lf is None or not score_cols:
        return {"note": "no score_* columns in the output (add scoring steps to the recipe)"}
    df = lf.select([c for c in ("id", "task", "source") if c in cols] + score_cols).collect()
    per_task = bd.per_group(df, "task", score_cols)
    per_source = bd.per_group(df, "source", score_cols)
    res = {}
    for s in score_cols:
        ok = df.filter(pl.col(s).is_not_null() & pl.col(s).is_not_nan())
        arr = ok[s].to_numpy().astype(float)
        values[f"score:{s}"] = arr
        ranked = ok.sort([s, "id"], descending=[True, False])
        top, bottom = ranked.head(EXAMPLES)["id"].to_list(), ranked.tail(EXAMPLES).reverse()["id"].to_list()
        rows = ctx.lookup(lf, None, top + bottom)
        ex = lambda ids: [rows[i] | {s: rows[i]["scores"].get(s)} for i in ids if i in rows]  # noqa: E731
        res[s] = {"stats": _stats(arr), "missing": int(df[s].is_null().sum()),
                  "per_task": per_task.get(s, {}), "per_source": per_source.get(s, {}),
                  "top": ex(top), "bottom": ex(bottom)}
    return res


def _context(lf, rlf, rej, cols) -> dict:
    return {"duplicates": ctx.duplicate_pairs(rej, lf, rlf), "derived": ctx.parent_pairs(lf, rlf, cols),
            "conflicts": ctx.conflicting_answers(lf, cols)}


def _duplicates(rej: pl.DataFrame | None, m: dict) -> dict:
    """Cluster sizes from the dedup rejects' detail (cluster_id), else from operator metrics."""
    res: dict = {}
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


def _text_stats(sample: pl.DataFrame | None, values: dict) -> dict:
    if sample is None or sample.height == 0:
        return {"note": "no rows in the output"}
    t = textstats.measure(sample)
    res: dict = {"rows": t.height, "word_lists": {"stopwords": textstats.STOPWORDS, "flagged": textstats.FLAGGED},
                 "measures": {}}
    for mname in textstats.MEASURES:
        values[f"text:{mname}"] = t[mname].to_numpy()
        res["measures"][mname] = bd.box_stats(t[mname])
    res["per_source"] = {k: {mn: v["mean"] for mn, v in per.items()} for k, per in
                         _transpose(bd.per_group(t, "source", list(textstats.MEASURES))).items()}
    return res


def _transpose(per: dict) -> dict:
    out: dict = {}
    for col, groups in per.items():
        for g, st in groups.items():
            out.setdefault(g, {})[col] = st
    return out


def _verb_noun(sample: pl.DataFrame | None, m: dict) -> dict:
    """The verb -> noun tree of the sunburst: from `dataset_metrics` (every row) if run, else the sample."""
    for stage, metrics in (m.get("metrics") or {}).items():
        vn = (metrics or {}).get("verb_noun")
        if isinstance(vn, dict) and vn.get("tree"):
            return {"from": f"metrics of stage {stage}", "tree": vn["tree"][:VERBS_DRAWN],
                    "share_with_pair": vn.get("share_with_pair"), "distinct_pairs": vn.get("distinct_pairs")}
    if sample is None or sample.height == 0 or "instruction" not in sample.columns:
        return {"note": "no rows in the output"}
    s = verbnoun.summary(verbnoun.verb_noun(sample["instruction"]), top_verbs=VERBS_DRAWN)
    if not s["top"]:
        return {"note": f"no verb-noun pair found in {sample.height} sampled instructions"}
    return {"from": f"{sample.height} sampled rows", "tree": s["top"], "share_with_pair": s["share_with_pair"],
            "distinct_pairs": s["distinct_pairs"]}


def _sample_table(sample: pl.DataFrame | None, rej: pl.DataFrame | None, rlf, size: int) -> dict:
    kept = sample if sample is not None else pl.DataFrame({"id": []}, schema={"id": pl.Utf8})
    rrows = None
    if rej is not None and rej.height:
        pick = rej.group_by("stage", "reason", maintain_order=True).head(3).head(size // 4).select(rej.columns)
        if pick.height < size // 4:
            pick = pl.concat([pick, rej.join(pick.select("id"), on="id", how="anti").head(size // 4 - pick.height)])
        rrows = rlf.filter(pl.col("id").is_in(pick["id"].implode())).unique("id", maintain_order=True).collect()
    rows = ctx.sample_table(kept, rrows, size)
    return {"rows": rows, "size": len(rows)}


def _numeric_map(v: dict) -> bool:
    return bool(v) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values())


def stale_metrics(m: dict) -> list[str]:
    """dataset_metrics measures the rows that reach it: a step after it that removes rows (a
    selection) leaves figures of a larger set than the one published. One note per such stage
    (the report and the dataset card say it)."""
    n = int((m.get("totals") or {}).get("rows_out") or 0)
    return [f"`{st['name']}` measured {st.get('rows_out', 0):,} rows; later steps kept {n:,} of them, "
            "so its figures describe the rows before those steps (put it last to measure the "
            "published rows)"
            for st in m.get("stages", []) if st.get("operator") == "dataset_metrics"
            and st.get("rows_out") is not None and st["rows_out"] != n]


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
    return {"scalars": scalars, "distributions": maps, "stale": stale_metrics(m)}


def _flatten(d: dict, prefix: str = ""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not _numeric_map(v) and key.split(".")[-1] != "embedding_2d":
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def _embedding(m: dict, lf: pl.LazyFrame | None, rlf: pl.LazyFrame | None) -> dict:
    """The 2-D sample of `dataset_metrics`, with each point's instruction as hover text when ids are known."""
    for stage, metrics in (m.get("metrics") or {}).items():
        pts = (metrics or {}).get("embedding_2d")
        if isinstance(pts, list) and pts and isinstance(pts[0], dict) and {"x", "y"} <= set(pts[0]):
            ids = [p["id"] for p in pts if p.get("id")]
            rows = ctx.lookup(lf, rlf, ids) if ids else {}
            out = []
            for p in pts:
                r = rows.get(p.get("id"), {})
                text = (r.get("instruction") or "")[:140]
                out.append(p | {"text": text or f"{p.get('source', '?')} / {p.get('task', '?')}"})
            return {"stage": stage, "points": out, "stale": stale_metrics(m)}
    return {"note": "no 2-D embedding sample recorded (the `dataset_metrics` step writes one)"}
