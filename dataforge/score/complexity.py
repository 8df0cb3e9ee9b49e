"""Rule-based complexity of an instruction as Polars expressions (rules/score/complexity.yaml).

Complexity is what the request demands — a requested length ("an 1850-word story"),
constraints, an output format, reasoning, several parts, a specialised domain, the share of
its words beyond everyday vocabulary, the kind of task — never how long the prompt is. Few-shot exemplars, passages, quoted reviews and
inputs are context: only the request is read (its first paragraph, or the short query a
few-shot prompt ends with, without quotations and long material after a colon), and of the
input only its share of rare words (a dense contract is harder to summarise than a shopping
list; a rate, so its length never counts). A request that calls itself easy loses points.
"""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_words, load_yaml

COMPLEXITY = "score/complexity.yaml"


def request_text(c: dict) -> pl.Expr:
    """The wording of the request, without the material it carries."""
    r = c["request"]
    s = pl.col("instruction").fill_null("").str.strip_chars()
    first = s.str.extract(r"(?s)^(.*?)(?:\n\s*\n|$)", 1).fill_null("")
    last = s.str.extract(r"(?s)\n\s*\n((?:[^\n]|\n[^\S\n]*\S)*)$", 1)
    short_last = last.is_not_null() & (last.str.count_matches(r"\S+") <= int(r["query_max_words"]))
    # few-shot prompts end with the query; other prompts start with the request
    fewshot = s.str.contains(r"(?i)\bexamples?\b") & short_last & (s.str.count_matches(r"\n\s*\n") >= 2)
    req = pl.when(fewshot).then(last).otherwise(first)
    # quoted material is what the request works on, not what it demands: a quoted headline
    # ("What is this headline about? \"Seven seize\"") or term ("Define 'plaintiff'.")
    req = req.str.replace_all(r'"[^"\n]+"|“[^”\n]+”|«[^»\n]+»|(?:^|\s)\'[^\'\n]+\'(?:$|[\s.,;:?!)])', " ")
    # "...: <a passage>" — keep the part before the colon when what follows is long
    head = req.str.extract(r"(?s)^(.*?):\s", 1)
    tail_words = req.str.replace(r"(?s)^.*?:\s", "").str.count_matches(r"\S+")
    return pl.when(head.is_not_null() & (tail_words > int(r["material_words"]))).then(head).otherwise(req)


def _capped(count: pl.Expr, each: float, cap: float) -> pl.Expr:
    return (count.cast(pl.Float64) * each).clip(upper_bound=cap)


def points(c: dict) -> dict[str, pl.Expr]:
    """name -> points of each demand (for docs and tests)."""
    req = request_text(c)
    low = req.str.to_lowercase()
    out = {}
    rl = c["requested_length"]
    nums = low.str.extract_all("(?i)" + rl["pattern"]).list.eval(
        pl.element().str.extract(r"(\d[\d,]*)", 1).str.replace_all(",", "").cast(pl.Float64, strict=False))
    biggest = nums.list.max().fill_null(0.0)
    out["requested_length"] = (float(rl["per_log10"]) * (biggest + 1.0).log10()).clip(0.0, float(rl["max_points"]))
    for k in ("constraint", "output_format", "reasoning", "parts", "domain"):
        d = c[k]
        out[k] = _capped(low.str.count_matches("(?i)" + d["pattern"]), d["points_each"], d["max_points"])
    sr = c.get("simple_request")
    if sr:  # (negative: capped below at max_points)
        out["simple_request"] = (low.str.count_matches("(?i)" + sr["pattern"]).cast(pl.Float64)
                                 * float(sr["points_each"])).clip(lower_bound=float(sr["max_points"]))
    lx = c.get("lexical")
    if lx:  # lexical sophistication: the share of the request's words beyond the most frequent
        common = sorted(set(load_words(lx["file"])))
        ws = low.str.extract_all(rf"[a-z]{{{int(lx.get('min_letters', 3))},}}")
        n = ws.list.len()
        rare = ws.list.eval(~pl.element().is_in(common)).list.sum().fill_null(0)
        # smoothed: a rare word among two ("Define 'plaintiff'.") is not half a request's words
        share = rare / (n + float(lx.get("smoothing", 0.0))).clip(lower_bound=1e-9)
        points = (share * float(lx["points_per_share"])).clip(0.0, float(lx["max_points"]))
        # a request in another script has no word the (English) list can judge: it gets the
        # typical points rather than none (a Chinese request scored as bare as "Name a colour")
        other_script = (n == 0) & low.str.contains(r"\p{L}{2}")
        out["lexical"] = pl.when(other_script).then(float(lx.get("other_script_points", 0.0))).otherwise(points)
    il = c.get("input_lexical")
    if lx and il:  # the input's share of rare words (its length is never counted)
        iw = pl.col("input").fill_null("").str.to_lowercase().str.extract_all(
            rf"[a-z]{{{int(lx.get('min_letters', 3))},}}")
        # (counts divided, not a list mean: the mean's float sum depends on the batch's memory
        # layout, and the local and Ray engines must write the same bytes)
        ishare = (iw.list.eval(~pl.element().is_in(common)).list.sum().cast(pl.Float64)
                  / iw.list.len().clip(lower_bound=1).cast(pl.Float64))
        out["input_lexical"] = pl.when(iw.list.len() >= int(il.get("min_words", 1))).then(
            (ishare * float(il["points_per_share"])).clip(0.0, float(il["max_points"]))).otherwise(0.0)
    tp = c["task_prior"]
    out["task"] = pl.col("task").fill_null("").replace_strict(
        {k: float(v) for k, v in (tp.get("by_task") or {}).items()}, default=float(tp["default"]),
        return_dtype=pl.Float64)
    cot = pl.col("meta").cast(pl.Utf8).fill_null("").str.contains(r'"prompt_type"\s*:\s*"cot"')
    out["cot"] = pl.when(cot).then(float(c.get("cot_points", 0.0))).otherwise(0.0)
    return out


def expr(cfg: dict | None = None) -> pl.Expr:
    c = cfg or load_yaml(COMPLEXITY)
    # (rounded: a horizontal float sum may differ in its last bit with the batch's memory
    # layout, and the local and Ray engines must write the same bytes)
    total = pl.sum_horizontal(list(points(c).values())).round(9)
    return (1.0 - (-total / float(c["scale"])).exp()).clip(0.0, 1.0)
