"""The quickstart's selection keeps every source within the share docs/selection.md states:
each source keeps between 55% and 80% of its rows that reach the selection (top-k on
complexity x quality normalised within task). Before normalisation the same selection kept
most e-SNLI rows and few Alpaca rows."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from dataforge import op
from dataforge.io.read import iter_batches
from dataforge.ops.base import RunContext
from dataforge.schema import REJECT, conform

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "rules" / "recipes" / "quickstart.yaml"
SHARE = (0.55, 0.80)  # docs/selection.md, "The quickstart's selection"


def run(name, df, **params):
    o = op(name, **params).bind(RunContext(seed=42))
    o.ensure_setup()
    return o.process(df)


def kept(df):
    return df.filter(pl.col(REJECT).is_null()).drop(REJECT) if REJECT in df.columns else df


def quickstart_rows() -> pl.DataFrame:
    """The quickstart's sources, converted and classified as its recipe does, then scored."""
    doc = yaml.safe_load(QUICKSTART.read_text())
    parts = []
    for src in doc["sources"]:
        raw = next(iter_batches(str(ROOT / src["path"]), batch_size=100_000)).rows
        df = conform(raw.head(src.get("limit") or raw.height), source=src["name"])
        for step in src.get("ops") or []:
            (name, params), = step.items()
            df = kept(run(name, df, **(params or {})))
        parts.append(df.with_columns(source=pl.lit(src["name"])))  # the engine names rows by source
    df = pl.concat(parts, how="diagonal_relaxed")
    for s in ("score_clarity", "score_quality", "score_complexity"):
        df = run(s, df)
    return df


def selection_steps() -> list[tuple[str, dict]]:
    doc = yaml.safe_load(QUICKSTART.read_text())
    steps = []
    for step in doc["pipeline"]:
        name = step.get("op") or next(iter(step))
        params = {k: v for k, v in step.items() if k not in ("op", "name")} if "op" in step else step[name] or {}
        if name.startswith("select_"):
            steps.append((name, params))
    return steps


def test_quickstart_selection_keeps_every_source_within_the_documented_share():
    df = quickstart_rows()
    steps = selection_steps()
    assert [n for n, _ in steps][-1] == "select_topk"
    for name, params in steps[:-1]:
        df = kept(run(name, df, **params))
    name, params = steps[-1]
    assert params.get("normalize", "percentile") != "none" and params.get("by") is None
    out = run(name, df, **params)
    share = out.group_by("source").agg(pl.col(REJECT).is_null().mean().alias("s"))
    shares = dict(share.iter_rows())
    assert set(shares) == {s["name"] for s in yaml.safe_load(QUICKSTART.read_text())["sources"]}
    assert all(SHARE[0] <= v <= SHARE[1] for v in shares.values()), shares
    # without normalisation the same cut picks by task type
    raw = run(name, df, **{**params, "normalize": "none"})
    raw_shares = dict(raw.group_by("source").agg(pl.col(REJECT).is_null().mean().alias("s")).iter_rows())
    assert max(raw_shares.values()) - min(raw_shares.values()) > max(shares.values()) - min(shares.values())
