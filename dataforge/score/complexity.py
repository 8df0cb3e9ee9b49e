"""Rule-based complexity of an instruction as Polars expressions (rules/score/complexity.yaml).

Complexity is what the request demands — a requested length ("an 1850-word story"),
constraints, an output format, reasoning, several parts, a specialised domain, the share of
its words beyond everyday vocabulary, the kind of task — never how long the prompt is. Few-shot exemplars, passages, quoted reviews and
inputs are context: only the request is read (its first paragraph, or the short query a
few-shot prompt ends with, without quotations and long material after a colon), and of the
input only its share of rare words (a dense contract is harder to summarise than a shopping
list; a rate, so its length never counts). A request that calls itself easy loses points.
The patterns and the list of common words are English; a request in another language is read
with each demand's patterns for other languages, and the lexical terms give it their typical
points (`language` in the rules), so the same request scores about the same in any language.
"""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_words, load_yaml
from dataforge.words import mostly_latin

COMPLEXITY = "score/complexity.yaml"


# words of text: runs of non-spaces, and every two Chinese or Japanese characters (written
# without spaces; a word there is one or two characters), so that "long" means the same in each
WORDS = r"[\p{Han}\p{Hiragana}\p{Katakana}]{1,2}|[^\s\p{Han}\p{Hiragana}\p{Katakana}]+"


def request_text(c: dict) -> pl.Expr:
    """The wording of the request, without the material it carries."""
    r = c["request"]
    s = pl.col("instruction").fill_null("").str.strip_chars()
    first = s.str.extract(r"(?s)^(.*?)(?:\n\s*\n|$)", 1).fill_null("")
    last = s.str.extract(r"(?s)\n\s*\n((?:[^\n]|\n[^\S\n]*\S)*)$", 1)
    short_last = last.is_not_null() & (last.str.count_matches(WORDS) <= int(r["query_max_words"]))
    # few-shot prompts end with the query; other prompts start with the request
    fewshot = s.str.contains(r.get("fewshot", r"(?i)\bexamples?\b")) & short_last & (s.str.count_matches(r"\n\s*\n") >= 2)
    req = pl.when(fewshot).then(last).otherwise(first)
    # quoted material is what the request works on, not what it demands: a quoted headline
    # ("What is this headline about? \"Seven seize\"") or term ("Define 'plaintiff'.")
    # („…“ and »…« German, 「…」 Chinese and Japanese)
    req = req.str.replace_all(r'"[^"\n]+"|“[^”\n]+”|«[^»\n]+»|„[^“”\n]+[“”]|»[^«\n]+«|「[^」\n]+」|『[^』\n]+』'
                              r'|(?:^|\s)\'[^\'\n]+\'(?:$|[\s.,;:?!)])', " ")
    # "...: <a passage>" — keep the part before the colon when what follows is long (a
    # full-width colon "：" needs no space after it)
    head = req.str.extract(r"(?s)^(.*?)(?::\s|：)", 1)
    tail_words = req.str.replace(r"(?s)^.*?(?::\s|：)", "").str.count_matches(WORDS)
    return pl.when(head.is_not_null() & (tail_words > int(r["material_words"]))).then(head).otherwise(req)


def _capped(count: pl.Expr, each: float, cap: float) -> pl.Expr:
    return (count.cast(pl.Float64) * each).clip(upper_bound=cap)


# `\w` in the other-language patterns: a letter of the languages they cover. Unicode `\w`
# over this many alternatives made each pattern 40x slower (Rust regex's DFA gives up)
LETTER = "[a-zà-ÿœß]"


def _alternatives(block: str | None) -> str:
    """A YAML block of alternatives, a few on each line, as one regex alternation."""
    return "|".join(ln.strip() for ln in (block or "").splitlines() if ln.strip()).replace("\\w", LETTER)


def other_pattern(d: dict) -> str | None:
    """A demand's pattern for requests not in English: `other_words` as whole words,
    `other_raw` anywhere (Chinese and Japanese have no word boundaries)."""
    parts = []
    if d.get("other_words"):
        parts.append(rf"\b(?:{_alternatives(d['other_words'])})\b")
    if d.get("other_raw"):
        parts.append(_alternatives(d["other_raw"]))
    return "|".join(parts) or None


def is_english(text: pl.Expr, c: dict) -> pl.Expr:
    """Whether the English patterns and word list can judge `text`: mostly Latin letters, few of
    them with diacritics, and not more function words of other languages than of English (two,
    or one among words mostly not common English ones); a text with neither is English."""
    lg = c.get("language")
    if not lg:
        return pl.lit(True)
    en, other = sorted(set(load_words(lg["english"]["file"]))), sorted(set(load_words(lg["other"]["file"])))
    t = text.str.to_lowercase()
    latin = t.str.count_matches(r"\p{Latin}")
    ws = t.str.extract_all(r"\p{L}+")
    n_en = ws.list.eval(pl.element().is_in(en)).list.sum().fill_null(0)
    n_other = ws.list.eval(pl.element().is_in(other)).list.sum().fill_null(0)
    # one such word decides only where few of the words are common English ones: "Quel jour
    # vient après lundi ?" is French, a stray "Los" in "Location: Los Angeles" is not Spanish
    common = sorted(set(load_words(c["lexical"]["file"])))
    lw = t.str.extract_all(r"[a-z]{3,}")
    common_share = (lw.list.eval(pl.element().is_in(common)).list.sum().fill_null(0).cast(pl.Float64)
                    / lw.list.len().clip(lower_bound=1).cast(pl.Float64))
    other_lang = (n_other > n_en) & ((n_other >= 2) | (common_share < float(lg.get("one_word_common_share", 0.25))))
    # Latin letters with diacritics are rare in English ("Gödel", "café"), common in Vietnamese
    # or Czech, whose function words are not listed
    accented = t.str.count_matches(r"[\p{Latin}&&[^a-z]]").cast(pl.Float64)
    other_lang = other_lang | ((latin >= 10) & (accented >= float(lg.get("accented_share", 1.0)) * latin.cast(pl.Float64)))
    return mostly_latin(t, float(lg.get("min_latin_share", 0.5))) & ~other_lang


def _count(low: pl.Expr, d: dict, english: pl.Expr) -> pl.Expr:
    """Matches of a demand's English pattern in English requests, of its other-language
    pattern in the rest (a demand without one reads every request with the English one)."""
    n = low.str.count_matches("(?i)" + d["pattern"])
    o = other_pattern(d)
    return n if o is None else pl.when(english).then(n).otherwise(low.str.count_matches("(?i)" + o))


def points(c: dict, req: pl.Expr | None = None, english: pl.Expr | None = None) -> dict[str, pl.Expr]:
    """name -> points of each demand (for docs and tests); `req` and `english` default to
    request_text() and is_english() of it (score() passes them worked out once)."""
    req = request_text(c) if req is None else req
    low = req.str.to_lowercase()
    english = is_english(req, c) if english is None else english
    out = {}
    rl = c["requested_length"]

    def biggest(pattern: str) -> pl.Expr:
        return low.str.extract_all("(?i)" + pattern).list.eval(
            pl.element().str.extract(r"(\d[\d,]*)", 1).str.replace_all(",", "").cast(pl.Float64, strict=False)
        ).list.max().fill_null(0.0)
    asked = biggest(rl["pattern"])
    if rl.get("other_units") or rl.get("other_units_raw"):  # ("500 mots", "800字以上")
        units = [rf"(\d[\d,]*)\s*(?:-|\s)?\s*(?:{_alternatives(rl['other_units'])})\b"] if rl.get("other_units") else []
        units += [rf"(\d[\d,]*)\s*(?:{_alternatives(rl['other_units_raw'])})"] if rl.get("other_units_raw") else []
        asked = pl.when(english).then(asked).otherwise(biggest("|".join(units)))
    out["requested_length"] = (float(rl["per_log10"]) * (asked + 1.0).log10()).clip(0.0, float(rl["max_points"]))
    for k in ("constraint", "output_format", "reasoning", "parts", "domain"):
        d = c[k]
        out[k] = _capped(_count(low, d, english), d["points_each"], d["max_points"])
    sr = c.get("simple_request")
    if sr:  # (negative: capped below at max_points)
        out["simple_request"] = (_count(low, sr, english).cast(pl.Float64)
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
        # a request not in English has no word the (English) list can judge: every French word
        # was "rare". It gets the typical points rather than the maximum or none (a Chinese
        # request scored as bare as "Name a colour")
        other = ~english | ((n == 0) & low.str.contains(r"\p{L}{2}"))
        typical = float(lx.get("other_language_points", lx.get("other_script_points", 0.0)))
        out["lexical"] = pl.when(other).then(typical).otherwise(points)
    il = c.get("input_lexical")
    if lx and il:  # the input's share of rare words (its length is never counted)
        inp = pl.col("input").fill_null("")
        iw = inp.str.to_lowercase().str.extract_all(rf"[a-z]{{{int(lx.get('min_letters', 3))},}}")
        # (counts divided, not a list mean: the mean's float sum depends on the batch's memory
        # layout, and the local and Ray engines must write the same bytes)
        ishare = (iw.list.eval(~pl.element().is_in(common)).list.sum().cast(pl.Float64)
                  / iw.list.len().clip(lower_bound=1).cast(pl.Float64))
        min_words = int(il.get("min_words", 1))
        points = pl.when(iw.list.len() >= min_words).then(
            (ishare * float(il["points_per_share"])).clip(0.0, float(il["max_points"]))).otherwise(0.0)
        if "other_language_points" in il:
            # an input not in English gets the typical points (judged on its start: inputs can be
            # long; "words" as letters / 4, since Chinese or Japanese has no spaces)
            head = inp.str.slice(0, 1000)
            other = pl.when(head.str.count_matches(r"\p{L}") >= 4 * min_words).then(
                float(il["other_language_points"])).otherwise(0.0)
            points = pl.when(is_english(head, c)).then(points).otherwise(other)
        out["input_lexical"] = points
    tp = c["task_prior"]
    out["task"] = pl.col("task").fill_null("").replace_strict(
        {k: float(v) for k, v in (tp.get("by_task") or {}).items()}, default=float(tp["default"]),
        return_dtype=pl.Float64)
    cot = pl.col("meta").cast(pl.Utf8).fill_null("").str.contains(r'"prompt_type"\s*:\s*"cot"')
    out["cot"] = pl.when(cot).then(float(c.get("cot_points", 0.0))).otherwise(0.0)
    return out


def expr(cfg: dict | None = None, req: pl.Expr | None = None, english: pl.Expr | None = None) -> pl.Expr:
    c = cfg or load_yaml(COMPLEXITY)
    # (rounded: a horizontal float sum may differ in its last bit with the batch's memory
    # layout, and the local and Ray engines must write the same bytes)
    total = pl.sum_horizontal(list(points(c, req, english).values())).round(9)
    return (1.0 - (-total / float(c["scale"])).exp()).clip(0.0, 1.0)


def score(df: pl.DataFrame, cfg: dict | None = None) -> pl.Series:
    """expr() over `df`, the request and its language worked out once (inside one expression
    each demand works them out again: 20x the time on 60k rows)."""
    c = cfg or load_yaml(COMPLEXITY)
    req, eng = "__complexity_request", "__complexity_english"
    tmp = df.select([x for x in ("instruction", "input", "task", "meta") if x in df.columns]).with_columns(
        request_text(c).alias(req))
    tmp = tmp.with_columns(is_english(pl.col(req), c).alias(eng))
    return tmp.select(expr(c, pl.col(req), pl.col(eng)).alias("score_complexity")).to_series()
