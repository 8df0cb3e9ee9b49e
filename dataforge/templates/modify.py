"""Apply prompt types and modifiers to rendered rows (columns instruction/input/output).

Each function takes a frame with the rendered pieces and a boolean column saying which
rows it applies to, and rewrites the pieces with the wording from _prompt_types.yaml.
All vectorised: `when(mask).then(wording).otherwise(piece)`.
"""
from __future__ import annotations

import polars as pl

from dataforge.templates.prompts import Wording


def _set(q: pl.DataFrame, mask: str, **new: pl.Expr) -> pl.DataFrame:
    # `when` evaluates the new text on every row: skip it when no row takes it (most rows of
    # a batch take no modifier)
    if not q[mask].any():
        return q
    return q.with_columns([pl.when(pl.col(mask)).then(e).otherwise(pl.col(k)).alias(k) for k, e in new.items()])


def options(q: pl.DataFrame, w: Wording, mask: str) -> pl.DataFrame:
    """Answer options shown: after the input, or after the instruction when there is none."""
    has_input = pl.col("input").str.len_chars() > 0
    q = q.with_columns((pl.col(mask) & pl.col("options").is_not_null()).alias(mask))
    return _set(q, mask,
                input=pl.when(has_input).then(w.expr("options", "input")).otherwise(pl.col("input")),
                instruction=pl.when(has_input).then(pl.col("instruction")).otherwise(w.expr("options", "instruction")))


def cot(q: pl.DataFrame, w: Wording, mask: str) -> pl.DataFrame:
    """The source's rationale goes into the response before the answer. `convert` draws cot only
    for rows that have one, so no CoT row asks for reasoning its response lacks."""
    has = pl.col("rationale").is_not_null() & (pl.col("rationale").str.strip_chars().str.len_chars() > 0)
    q = q.with_columns((pl.col(mask) & has).alias("_with"))
    q = _set(q, "_with", instruction=w.expr("prompt_types", "cot", "with_rationale", "instruction"),
             output=w.expr("prompt_types", "cot", "with_rationale", "output"))
    return q.drop("_with")


def few_shot(q: pl.DataFrame, w: Wording, mask: str) -> pl.DataFrame:
    """Exemplars before the query; `exemplars` holds the joined blocks."""
    return _set(q, mask, instruction=w.expr("prompt_types", "few_shot", "instruction"))


def exemplar_blocks(p: pl.DataFrame, w: Wording) -> pl.DataFrame:
    """Add `block`: one solved exemplar from its rendered pieces."""
    prompt = pl.when(pl.col("input").str.len_chars() > 0) \
        .then(pl.concat_str([pl.col("instruction"), pl.lit("\n\n"), pl.col("input")])) \
        .otherwise(pl.col("instruction"))
    return p.with_columns(prompt.alias("prompt")).with_columns(
        w.expr("prompt_types", "few_shot", "exemplar").alias("block")).drop("prompt")


def output_format(q: pl.DataFrame, w: Wording, fmt_col: str, json_key: str) -> pl.DataFrame:
    """An explicit output format: instruction says so, output follows it (JSON, Markdown)."""
    q = q.with_columns(pl.lit(json_key).alias("json_key"))
    for fmt in ("one_word", "json", "markdown"):
        q = q.with_columns((pl.col(fmt_col) == fmt).fill_null(False).alias("_m"))
        new = {"instruction": w.expr("formats", fmt, "instruction")}
        if fmt == "json":
            new["output"] = pl.struct(pl.col("output").alias(json_key)).struct.json_encode()
        elif w.get("formats", fmt, "output"):
            new["output"] = w.expr("formats", fmt, "output")
        q = _set(q, "_m", **new)
    return q.drop("_m", "json_key")
