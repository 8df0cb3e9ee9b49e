"""Render one template over a frame of variables: why each row cannot be rendered, and the text.

`context` adds the template's own verbalised label and answer choices; `reasons` says per
row which variable is missing or which label is unknown (null: renderable); `pieces`
renders instruction/input/output with Polars (plain templates) or the Jinja sandbox.
"""
from __future__ import annotations

import polars as pl

from dataforge.templates import fields, plain, sandbox
from dataforge.templates.spec import PIECES, Family, Template

RAW_LABEL = "_label_raw"


def context(t: Template, fam: Family, v: pl.DataFrame) -> pl.DataFrame:
    cols = []
    labels = t.labels or fam.labels
    if fam.label_field and labels:
        cols += [pl.col(fam.label_field).alias(RAW_LABEL), pl.col(fam.label_field).alias("label_id"),
                 fields.verbalize(labels, fam.label_field).alias(fam.label_field)]
    cols.append(fields.choices_text(labels, fam.choices).alias("answer_choices"))
    return v.with_columns(cols)


def reasons(t: Template, fam: Family, ctx: pl.DataFrame) -> pl.Expr:
    """First problem of each row for this template, or null."""
    r = pl.lit(None, dtype=pl.Utf8)
    for n in sorted(t.needs, reverse=True):  # reverse: the alphabetically first problem wins
        f = fam.fields[n]
        if n == fam.label_field and RAW_LABEL in ctx.columns:
            r = pl.when(pl.col(RAW_LABEL).is_null()).then(pl.lit(f"missing_field: {n}")) \
                .when(pl.col(n).is_null()).then(pl.format(f"unknown_label: {n}={{}}", pl.col(RAW_LABEL))) \
                .otherwise(r)
        elif f.lookup:
            key = f"{n}{fields.KEY}"
            # no choices to look the key up in is a missing field, not an unknown key; one choice
            # is no question
            lst = fam.choices or f.lookup["values"]
            chain = pl.when(pl.col(key).is_null()).then(pl.lit(f"missing_field: {n}")) \
                .when(pl.col(lst).is_null()).then(pl.lit(f"missing_field: {lst}"))
            if fam.choices:
                chain = chain.when(pl.col(lst).list.len() < 2).then(
                    pl.format(f"too_few_choices: {lst}={{}}", pl.col(lst).list.len()))
            r = chain.when(pl.col(n).is_null()).then(pl.format(f"unknown_label: {n}={{}}", pl.col(key))) \
                .otherwise(r)
        elif n in t.requires:  # an optional field is filled with its default: blank is missing too
            blank = pl.col(n).is_null() | (pl.col(n).cast(pl.Utf8).str.strip_chars() == "")
            r = pl.when(blank).then(pl.lit(f"missing_field: {n}")).otherwise(r)
        else:
            r = pl.when(pl.col(n).is_null()).then(pl.lit(f"missing_field: {n}")).otherwise(r)
    return r


def pieces(t: Template, ctx: pl.DataFrame) -> pl.DataFrame:
    """instruction/input/output for every row of `ctx` (all renderable), stripped."""
    plain_exprs = [_plain(t, p) for p in PIECES if t.plain[p] is not None]
    out = ctx.select([pl.col(fields.ROW)] + plain_exprs)
    for p in PIECES:
        if t.plain[p] is None:
            use = [c for c in ctx.columns if c in t.uses]
            rows = ctx.select(use).to_dicts()
            text = sandbox.render_rows(t.jinja[p], rows, f"{t.where}, {p}")
            out = out.with_columns(pl.Series(p, text, dtype=pl.Utf8))
    return out.select([fields.ROW] + [pl.col(p).str.strip_chars() for p in PIECES])


def _plain(t: Template, piece: str) -> pl.Expr:
    return plain.to_expr(t.plain[piece]).alias(piece)
