"""An answer that only restates the request (score_quality): "The question is which weighs
more: a kilogram of feathers or a kilogram of steel." to that question, "You want a Python
function that removes duplicates ..." to that request. It opens with a frame that reports the
request (`opener`), is one sentence, and nearly all its content words come from the request.
Settings: `restated_request` in rules/score/quality.yaml."""
from __future__ import annotations

import polars as pl


def _content(e: pl.Expr, min_len: int) -> pl.Expr:
    """The distinct lower-case words of at least `min_len` letters."""
    return e.fill_null("").str.to_lowercase().str.extract_all(r"\p{L}+") \
        .list.eval(pl.element().filter(pl.element().str.len_chars() >= min_len)).list.unique()


def restated(cfg: dict) -> pl.Expr:
    """True where the answer restates its request and adds nothing."""
    c = cfg.get("restated_request")
    if not c:
        return pl.lit(False)
    out = pl.col("output").fill_null("").str.strip_chars()
    request = pl.col("instruction").fill_null("") + pl.lit(" ") + pl.col("input").fill_null("")
    n = int(c.get("min_word_letters", 4))
    ow, rw = _content(out, n), _content(request, n)
    share = ow.list.set_intersection(rw).list.len() / ow.list.len().clip(lower_bound=1)
    one_sentence = out.str.count_matches(r"[.!?](?:\s|$)") <= 1
    return (out.str.contains(c["opener"]) & one_sentence & (ow.list.len() >= 3)
            & (share >= float(c.get("min_share", 0.6)))).fill_null(False)
