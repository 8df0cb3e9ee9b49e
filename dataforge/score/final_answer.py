"""A worked answer whose final number appears nowhere in its working (score_quality).

Chain-of-thought data ends on a marked final answer ("#### 14", "\\boxed{4/12}", "The answer
is: 530"). When the working before it computes results ("= 12") and the final number is none
of the numbers the working wrote, the two disagree: the steps say 12, the answer says 14. A
final answer that restates a number of the working (in any form: 0.5 for 1/2, 1,200 for 1200)
is supported. Rows without a marker, without a numeric final answer or without computed
results are left alone. Settings: `final_unsupported` in rules/score/quality.yaml.
"""
from __future__ import annotations

import polars as pl

# a number as the working writes it: 1,200 / -3.5 / 7/8 (a fraction is its value)
NUMBER = r"-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?"
FRAC = r"\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}"  # \frac{7}{8} -> 7/8


def _values(e: pl.Expr) -> pl.Expr:
    """The numbers of text `e` as a list of floats (a fraction as its quotient)."""
    s = e.str.replace_all(FRAC, "$1/$2")
    nums = s.str.extract_all(NUMBER).list.eval(pl.element().str.replace_all(r"[,\s]", ""))
    return nums.list.eval(
        pl.when(pl.element().str.contains("/"))
        .then(pl.element().str.extract(r"^(-?[\d.]+)/", 1).cast(pl.Float64, strict=False)
              / pl.element().str.extract(r"/([\d.]+)$", 1).cast(pl.Float64, strict=False))
        .otherwise(pl.element().cast(pl.Float64, strict=False)))


def unsupported(df: pl.DataFrame, cfg: dict) -> pl.Series:
    """Per row of `df`: True where the marked final number is none of the working's numbers."""
    none = pl.Series("u", [False] * df.height, dtype=pl.Boolean)
    c = cfg.get("final_unsupported")
    if not c or "output" not in df.columns:
        return none
    out = pl.col("output").fill_null("")
    marks = [out.str.extract(p, 1) for p in c["markers"]]  # (the final answer's text)
    starts = [out.str.find(p) for p in c["markers"]]
    # ("Final answer: x = 5" states the value of a variable: the value is the answer)
    final = pl.coalesce(marks).str.replace(r"^\s*\p{L}[\w']{0,11}\s*=\s*(\S)", "$1")
    start = pl.coalesce(starts)
    one_number = final.str.replace_all(FRAC, "$1/$2").str.contains(c["numeric_final"])
    x = df.select(final.alias("_f"), out.str.slice(0, start).alias("_w"), one_number.alias("_one")) \
        .with_row_index("_i")
    cand = x.filter(pl.col("_one") & (pl.col("_w").str.count_matches("=") >= int(c.get("min_results", 1))))
    if not cand.height:
        return none
    # a final answer rounds the working's result to its own decimals ("3.33" for 3.3333)
    # (a fraction is exact: 4/12 is not 7/8 give or take a half)
    decimals = pl.col("_f").str.extract(r"\d\.(\d+)", 1).str.len_chars().fill_null(0).cast(pl.Float64)
    fraction = pl.col("_f").str.replace_all(FRAC, "$1/$2").str.contains(r"\d\s*/\s*\d")
    cand = cand.with_columns(_values(pl.col("_f")).list.first().alias("_v"), _values(pl.col("_w")).alias("_ws"),
                             pl.when(fraction).then(1e-9).otherwise(0.5 * pl.lit(10.0).pow(-decimals)).alias("_tol"))
    e = cand.select("_i", "_v", "_ws", "_tol").explode("_ws")
    near = (pl.col("_ws") - pl.col("_v")).abs() <= pl.col("_tol")
    found = e.group_by("_i").agg(near.fill_null(False).any().alias("_ok"))
    bad = cand.select("_i", "_v").join(found, on="_i", how="left") \
        .filter(pl.col("_v").is_not_null() & ~pl.col("_ok").fill_null(False))["_i"]
    return none.scatter(bad.to_list(), True) if bad.len() else none
