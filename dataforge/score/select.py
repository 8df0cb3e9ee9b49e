"""Shared pieces of the selection operators: the ranking score, kept shares and column checks.

The ranking score is one expression for every form of a selection (local and Ray): the
product of the score columns (DEITA's complexity x quality), then normalised within its
strata, so that neither a task whose scores run high nor a template whose wording scores
high takes the selection. The default strata are the task, and within it the conversion's
own draws, `meta.template` and `meta.prompt_type`: a converted row's template and prompt type
were drawn at random, its score mostly reads their wording, and ranking across them kept
whole templates and dropped others (a new user's 403 sentiment rows: one template kept 58 of
58, four kept none). Rows that carry no template (imports, generations) form one stratum
per task. `percentile`: the row's mid-rank within its stratum over the stratum's size,
(n - rank + 0.5) / n in (0, 1) (ties broken by id as the selections do), so every stratum's
values spread evenly around 0.5 whatever its size: a global cut keeps the same share of
each, and a one-row stratum is neither always kept nor always dropped. `zscore`: the
standard score within the stratum mapped through the logistic function into (0, 1);
`none`: the raw product. Null scores count 0.
"""
from __future__ import annotations

from typing import Literal

import polars as pl

from dataforge.errors import ConfigError

Normalize = Literal["percentile", "zscore", "none"]
NORMALIZE = ("percentile", "zscore", "none")
# the default `normalize_by`: a column, or `meta.<key>` for a key of the row's meta JSON
STRATA = ("task", "meta.template", "meta.prompt_type")
Strata = str | list[str] | None


def strata_keys(within: Strata) -> list[str]:
    """`normalize_by` as a list of keys (a string is one key; None or [] none)."""
    if not within:
        return []
    return [within] if isinstance(within, str) else list(within)


def strata_columns(within: Strata) -> list[str]:
    """The columns a `normalize_by` reads (`meta` for its meta keys)."""
    return list(dict.fromkeys("meta" if k.startswith("meta.") else k for k in strata_keys(within)))


def _key(k: str) -> pl.Expr:
    if k.startswith("meta."):
        return pl.col("meta").cast(pl.Utf8).str.json_path_match(f"$.{k[5:]}").fill_null("(none)").alias(k)
    return pl.col(k).cast(pl.Utf8).fill_null("(none)").alias(k)


def stratum_label(within: Strata, columns=None) -> pl.Expr:
    """A row's stratum as text ("task=math, meta.template=nli/t3"; meta keys the row lacks
    are left out), for metrics and reasons. `columns`: the frame's, when known."""
    keys = [k for k in strata_keys(within)
            if columns is None or ("meta" if k.startswith("meta.") else k) in columns]
    if not keys:
        return pl.lit("(all)")
    parts = [pl.when(_key(k) != "(none)").then(pl.format(f"{k}={{}}", _key(k))) if k.startswith("meta.")
             else pl.format(f"{k}={{}}", _key(k)) for k in keys]
    return pl.concat_str(parts, separator=", ", ignore_nulls=True).replace("", "(none)")


def normalised(e: pl.Expr, method: str, within: Strata, columns=None) -> pl.Expr:
    """A score expression normalised within the strata of `within` (see the module doc).
    `columns`: the frame's columns, when known; keys whose column it lacks are left out."""
    if method == "none":
        return e
    if method == "percentile":
        # rank 1 = best (ties: smaller id first, as the selections break ties), as a mid-rank in (0, 1)
        best = pl.struct((-e).alias("s"), pl.col("id").cast(pl.Utf8).alias("i")).rank("ordinal")
        out = (pl.len() - best + 0.5) / pl.len()
    elif method == "zscore":
        std = e.std(ddof=0)
        z = pl.when(std > 0).then((e - e.mean()) / std).otherwise(0.0)
        out = 1.0 / (1.0 + (-z).exp())
    else:
        raise ConfigError(f"normalize must be one of {NORMALIZE}, got {method!r}")
    keys = [k for k in strata_keys(within)
            if columns is None or ("meta" if k.startswith("meta.") else k) in columns]
    return out.over([_key(k) for k in keys]) if keys else out


def rank_score(columns: list[str], where: str, normalize: str = "none", within: Strata = None,
               available=None) -> pl.Expr:
    """The ranking score of a selection: product of the score columns (nulls count 0),
    normalised within the strata of `within` by `normalize` (`available`: the frame's columns)."""
    if not columns:
        raise ConfigError(f"{where}: name at least one score column in `score`")
    if normalize not in NORMALIZE:
        raise ConfigError(f"{where}: normalize must be one of {list(NORMALIZE)}, got {normalize!r}")
    e = pl.lit(1.0)
    for c in columns:
        e = e * pl.col(c).cast(pl.Float64).fill_nan(None).fill_null(0.0)
    return normalised(e, normalize, within, available)


def score_expr(columns: list[str], where: str) -> pl.Expr:
    """Product of the named raw score columns (mix, preference pairs); nulls count 0."""
    return rank_score(columns, where, "none", None)


def needs_groups(normalize: str, within: str | None) -> bool:
    """Whether the ranking score needs whole groups (a window), not one batch at a time."""
    return normalize != "none"


def kept_shares(df: pl.DataFrame, kept: pl.Series | pl.Expr, by: tuple[str, ...] = ("source", "task")) -> dict:
    """For the report: per source and per task, rows in, rows kept and the share kept;
    `share_of_output` is the group's share of everything kept."""
    k = pl.lit(kept) if isinstance(kept, pl.Series) else kept
    d = df.select([pl.col(b).cast(pl.Utf8).fill_null("(none)") for b in by if b in df.columns]
                  + [k.cast(pl.Boolean).alias("__kept")])
    total_kept = int(d["__kept"].sum() or 0)
    out = {"rows_in": d.height, "rows_kept": total_kept,
           "share_kept": round(total_kept / d.height, 4) if d.height else None}
    for b in by:
        if b not in d.columns:
            continue
        g = d.group_by(b).agg(pl.len().alias("n"), pl.col("__kept").sum().alias("k")).sort(b)
        out[f"by_{b}"] = {str(r[b]): {"rows": int(r["n"]), "kept": int(r["k"]),
                                      "share_kept": round(r["k"] / r["n"], 4) if r["n"] else None,
                                      "share_of_output": round(r["k"] / total_kept, 4) if total_kept else None}
                          for r in g.iter_rows(named=True)}
    low = low_quality_kept(df, k, by)
    if low:
        out["low_quality_kept"] = low
    return out


LOW_QUALITY = 0.6  # score_quality under this is a defect (docs/scores.md)


def low_quality_kept(df: pl.DataFrame, kept: pl.Expr, by: tuple[str, ...] = ("source", "task"),
                     min_kept: int = 5) -> dict:
    """Groups whose kept rows mostly have score_quality under LOW_QUALITY while most rows rejected
    elsewhere are above it: a selection normalised within strata keeps every stratum's share, a
    stratum of weak rows too (a new user's 60 filler-wrapped translations kept 22). Logged as a
    warning; a floor (select_threshold on score_quality) drops them."""
    if "score_quality" not in df.columns:
        return {}
    q = pl.col("score_quality").cast(pl.Float64).fill_null(0.0)
    d = df.select([pl.col(b).cast(pl.Utf8).fill_null("(none)") for b in by if b in df.columns]
                  + [kept.cast(pl.Boolean).alias("__kept"), q.alias("__q")])
    rejected = d.filter(~pl.col("__kept"))["__q"].median()
    if rejected is None or rejected < LOW_QUALITY:
        return {}
    found: dict = {}
    for b in by:
        if b not in d.columns:
            continue
        g = (d.filter(pl.col("__kept")).group_by(b).agg(pl.len().alias("k"), pl.col("__q").median().alias("m"))
             .filter((pl.col("k") >= min_kept) & (pl.col("m") < LOW_QUALITY)).sort(b))
        for r in g.iter_rows(named=True):
            found[f"{b} {r[b]}"] = {"kept": int(r["k"]), "median_quality_kept": round(float(r["m"]), 4),
                                    "median_quality_rejected": round(float(rejected), 4)}
    if found:
        import logging

        logging.getLogger("dataforge.select").warning(
            "selection kept rows of low quality where better rows were rejected elsewhere (score_quality "
            "under %s; normalised ranks keep every stratum's share): %s; add select_threshold on "
            "score_quality before it, or normalize: none", LOW_QUALITY,
            ", ".join(f"{k} ({v['kept']} rows, median {v['median_quality_kept']})" for k, v in found.items()))
    return found


def low_shares(shares: dict, ratio: float, min_rows: int, by: tuple[str, ...] = ("stratum", "lang")) -> dict:
    """Groups of `kept_shares` (`by_<b>`) with at least `min_rows` rows whose share kept is under
    `ratio` x the overall share: {"stratum task=math": {rows, kept, share_kept, share_kept_overall}}."""
    overall = shares.get("share_kept")
    if not overall:
        return {}
    return {f"{b} {name}": {"rows": g["rows"], "kept": g["kept"], "share_kept": g["share_kept"],
                            "share_kept_overall": overall}
            for b in by for name, g in shares.get(f"by_{b}", {}).items()
            if g["rows"] >= min_rows and g["share_kept"] is not None and g["share_kept"] < ratio * overall}


def check_columns(df: pl.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = [c for c in df.columns if c.startswith("score_")]
        raise ConfigError(f"{where}: score column(s) {missing} not found; add the step that makes "
                          f"them before this one (score columns present: {have})")
