"""Rejections, selection and scores broken down by source and task, and the warnings they raise.

The denominator of a share is the rows of that source (or task) that *reached* the stage:
rows written plus rows rejected at that stage or a later one. A rule that removes more than
`warn_share` of the rows of one source or task that reached it is a warning.
"""
from __future__ import annotations

import functools

import polars as pl

from dataforge.paths import RULES
from dataforge.rulefiles import parse_yaml

DIMS = ("source", "task")
# operators whose job is to drop rows to a budget: shown as kept shares, never warned about
SELECTION_PREFIXES = ("select", "mix")
RULE = pl.col("reason").str.split(":").list.first().str.strip_chars().alias("rule")


def is_selection(operator: str | None) -> bool:
    return bool(operator) and operator.startswith(SELECTION_PREFIXES)


def stage_order(manifest: dict) -> dict[str, int]:
    return {s["name"]: i for i, s in enumerate(manifest.get("stages", []))}


def _reached(rej: pl.DataFrame, kept: dict[str, int], dim: str, order: dict[str, int]) -> pl.DataFrame:
    """Rows of each `dim` value that reached each stage = written + rejected at that stage or later."""
    per = rej.group_by("stage", dim).len().with_columns(
        pl.col("stage").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_i"))
    rows = []
    values = set(kept) | set(per[dim].drop_nulls().to_list())
    for stage, i in order.items():
        later = per.filter(pl.col("_i") >= i).group_by(dim).agg(pl.col("len").sum())
        lat = dict(later.iter_rows())
        rows += [{"stage": stage, dim: v, "reached": kept.get(v, 0) + int(lat.get(v, 0))} for v in values]
    return pl.DataFrame(rows, schema={"stage": pl.Utf8, dim: pl.Utf8, "reached": pl.Int64})


@functools.lru_cache(maxsize=1)
def hints() -> dict[str, str]:
    """rule name -> what to check when it removes a large share (rules/filters/hints.yaml)."""
    path = RULES / "filters" / "hints.yaml"
    doc = parse_yaml(path.read_text(encoding="utf-8"), str(path)) if path.exists() else {}
    return {str(k): " ".join(str(v).split()) for k, v in (doc or {}).items()}


def rejects_by(rej: pl.DataFrame | None, kept_counts: dict[str, dict[str, int]], manifest: dict,
               warn_share: float) -> dict:
    """{dim: [{stage, operator, rule, value, rejected, reached, share}]}, warnings, kept shares."""
    res: dict = {"warn_share": warn_share, "by": {}, "warnings": [], "selection": {}}
    order = stage_order(manifest)
    if rej is None or rej.height == 0:
        res["note"] = "no rows were rejected"
        for dim in DIMS:
            res["selection"][dim] = []
        return res
    rej = rej.with_columns(RULE, *[pl.col(d).fill_null("(none)") for d in DIMS if d in rej.columns])
    for dim in DIMS:
        if dim not in rej.columns:
            continue
        reached = _reached(rej, kept_counts.get(dim, {}), dim, order)
        t = (rej.group_by("stage", "operator", "rule", dim).len("rejected")
             .join(reached, on=["stage", dim], how="left")
             .with_columns(pl.col("reached").fill_null(pl.col("rejected")))
             .with_columns((pl.col("rejected") / pl.col("reached")).round(4).alias("share"))
             .with_columns(pl.col("stage").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_i"))
             .sort(["_i", "rule", "rejected", dim], descending=[False, False, True, False]).drop("_i"))
        res["by"][dim] = t.rename({dim: "value"}).to_dicts()
        for r in res["by"][dim]:
            # (lines the reader could not parse have no task or source yet: their "(none)"
            # group holds only the read errors, whose own warning is the quarantine count)
            unparsed = r["value"] == "(none)" and str(r["stage"]).startswith("read")
            if not is_selection(r["operator"]) and r["share"] > warn_share and not unparsed:
                res["warnings"].append({
                    "kind": "rule_removes_share", "dim": dim, "value": r["value"], "stage": r["stage"],
                    "rule": r["rule"], "rejected": r["rejected"], "reached": r["reached"], "share": r["share"],
                    "message": f"rule '{r['rule']}' (stage {r['stage']}) removed {r['share']:.1%} of {dim} "
                               f"'{r['value']}' ({r['rejected']} of {r['reached']} rows; threshold {warn_share:.0%})"
                               + (f"; {hint}" if (hint := hints().get(r["rule"])) else ""),
                })
        res["selection"][dim] = _selection(t, reached, dim)
    res["warnings"].sort(key=lambda w: -w["share"])
    return res


def _selection(t: pl.DataFrame, reached: pl.DataFrame, dim: str) -> list[dict]:
    """Kept share per value at each selection / mixing stage: 1 - rejected there / reached there."""
    op = pl.col("operator").fill_null("")
    sel = t.filter(pl.any_horizontal([op.str.starts_with(p) for p in SELECTION_PREFIXES]))
    if sel.height == 0:
        return []
    stages = sel["stage"].unique(maintain_order=True).to_list()
    lost = sel.group_by("stage", dim).agg(pl.col("rejected").sum())
    out = (reached.filter(pl.col("stage").is_in(stages)).join(lost, on=["stage", dim], how="left")
           .with_columns(pl.col("rejected").fill_null(0))
           .filter(pl.col("reached") > 0)
           .with_columns((pl.col("reached") - pl.col("rejected")).alias("kept"))
           .with_columns((pl.col("kept") / pl.col("reached")).round(4).alias("kept_share"))
           .sort(["stage", "kept_share", dim], descending=[False, True, False]))
    return out.rename({dim: "value"}).select("stage", "value", "reached", "kept", "kept_share").to_dicts()


def box_stats(values: pl.Series) -> dict:
    """What a box plot draws: whiskers at p5 / p95, box at the quartiles, the median and the mean."""
    v = values.drop_nulls().drop_nans() if values.dtype.is_float() else values.drop_nulls()
    if v.len() == 0:
        return {"n": 0}
    q = {f"p{p}": float(v.quantile(p / 100, "linear")) for p in (5, 25, 50, 75, 95)}
    return {"n": int(v.len()), "mean": round(float(v.mean()), 4), **{k: round(x, 4) for k, x in q.items()}}


def per_group(df: pl.DataFrame, group: str, cols: list[str], top: int = 15) -> dict:
    """{col: {group value: box stats}} for the `top` largest groups."""
    if group not in df.columns:
        return {}
    groups = (df.group_by(group).len().sort(["len", group], descending=[True, False]).head(top)[group]
              .fill_null("(none)").to_list())
    g = df.with_columns(pl.col(group).fill_null("(none)"))
    parts = {k[0]: p for k, p in g.partition_by(group, as_dict=True).items()}
    return {c: {str(v): box_stats(parts[v][c]) for v in groups if v in parts} for c in cols if c in df.columns}
