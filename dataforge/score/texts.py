"""The text of a row that gets embedded: chosen fields joined, optionally cut to a length."""
from __future__ import annotations

import polars as pl


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
    from dataforge import embed as E

    texts = df.select(joined(fields, max_chars)).to_series().to_list()
    return E.for_op(op, model).encode(texts)
