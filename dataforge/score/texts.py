"""The text of a row that gets embedded: chosen fields joined, optionally cut to a length."""
from __future__ import annotations

import logging

import polars as pl

log = logging.getLogger("dataforge.embed")


def joined(fields: list[str], max_chars: int | None = None) -> pl.Expr:
    """Non-empty fields joined by a blank line (instruction + input is the usual prompt)."""
    parts = [pl.col(f).fill_null("").str.strip_chars() for f in fields]
    e = pl.concat_list(parts).list.eval(pl.element().filter(pl.element() != "")).list.join("\n\n")
    if max_chars:
        e = e.str.slice(0, max_chars)
    return e


def embed(op, df: pl.DataFrame, fields: list[str], model: str | None = None,
          max_chars: int | None = None):
    """Embeddings of the rows' joined fields through the run's shared, cached embedder."""
    return embed_rows(op, df, fields, model, max_chars, "all")[0]


def embed_rows(op, df: pl.DataFrame, fields: list[str], model: str | None = None,
               max_chars: int | None = None, scripts: str = "auto", then: str = ""):
    """(embeddings, unread): `unread` marks the rows the model cannot represent
    (`dataforge.embed.unread_rows`; None when none is left out), whose similarities the
    caller must not judge by. Logs a warning naming how many rows, why, and what the caller
    does with them (`then`)."""
    from dataforge import embed as E

    t = df.select(joined(fields, max_chars)).to_series()
    emb = E.for_op(op, model)
    unread = E.unread_rows(t, model or E.run_default(op), scripts)
    if unread is not None and not unread.any():
        unread = None
    if unread is not None:
        log.warning("%s: %d of %d row(s) are mostly in other scripts than Latin and were not compared by "
                    "embedding (%s reads English and puts such texts alike)%s; give `model:` a multilingual "
                    "model to compare them, or `scripts: all`", getattr(op, "name", "?"),
                    int(unread.sum()), len(t), emb.identity, f": {then}" if then else "")
    return emb.encode(t.to_list()), unread
