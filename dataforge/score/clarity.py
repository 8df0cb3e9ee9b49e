"""Rule-based clarity model of an instruction as Polars expressions (rules/score/clarity.yaml).

Vague instructions of ordinary length are the hard case: they point at material never
given ("summarize the following text" with an empty input), act on a bare pronoun
("rewrite it in a better way") or ask for an improvement without saying what better means
("make the necessary changes"). Each such check multiplies the score by its factor; a
continuous specificity term (how many concrete words the request carries) multiplies on
top, so the score orders instructions instead of taking a handful of values.
"""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_words, load_yaml
from dataforge.words import SENTENCE_END_RE, TOKEN_RE, WORD_RE

CLARITY = "score/clarity.yaml"
GENERIC = "score/generic_words.txt"
STOPWORDS = "synonyms/stopwords.txt"
VERBS = "score/verbs.txt"


def _fill(pattern: str, c: dict) -> str:
    return "(?i)" + pattern.replace("{text_nouns}", c["text_nouns"]).replace("{text_verbs}", c["text_verbs"]) \
        .replace("{given_nouns}", c.get("given_nouns", ""))


def _len(e: pl.Expr) -> pl.Expr:
    return e.fill_null("").str.len_chars()


def _empty(e: pl.Expr) -> pl.Expr:
    return e.fill_null("").str.strip_chars().str.len_chars() == 0


def _unresolved(d: pl.DataFrame, col: str, pattern: str, ur: dict, antecedent: bool = False,
                data: bool = False) -> pl.Series:
    """Per row of `d[col]`: the pointer occurs and its first occurrence is not followed (or, for
    backward pointers, preceded) by the material it points at."""
    ins = pl.col(col)
    # lazy `.*?` stops at the first occurrence: the head is the text before it, and the
    # tail (from the pointer on) is where quoted or listed material would be; both are
    # null where the pointer is absent (most rows), so the checks below skip those rows
    # (head and tail are columns: as expressions each use below would recompute them)
    x = d.select(pl.when(ins.str.contains(pattern)).then(ins).str.extract(f"(?s)^(.*?){pattern}", 1).alias("head"),
                 ins)
    x = x.select("head", pl.when(pl.col("head").is_not_null()).then(ins.str.slice(pl.col("head").str.len_chars()))
                 .alias("tail"))
    head, tail = pl.col("head"), pl.col("tail")
    backward = tail.str.contains("(?i)^.{0,60}" + ur["backward"])
    resolved = tail.str.contains(ur["resolved_after"]) | head.str.contains(ur["inside_material"]) | \
        (backward & head.str.contains(ur["resolved_before"])) | _material_follows(tail, ur)
    if ur.get("sentence_pointer") and ur.get("sentence_before"):
        resolved = resolved | (tail.str.contains("(?i)" + ur["sentence_pointer"]) & head.str.contains(ur["sentence_before"]))
    if data and ur.get("data_before"):  # figures stated before it are what it points at
        resolved = resolved | head.str.contains(ur["data_before"])
    if antecedent:  # a concrete word before the pronoun (after the verb) is what it refers to
        resolved = resolved | (concrete_words(head.str.replace(r"^\W*\w+", ""), verbs=True) > 0)
    return x.select(head.is_not_null() & ~resolved.fill_null(False)).to_series()


def _material_follows(tail: pl.Expr, ur: dict) -> pl.Expr:
    """A long next line, or a long run after the pointer's sentence, that does not open as more
    request (`material_line_words`, `material_after_words`, `more_request`)."""
    if not ur.get("material_line_words") and not ur.get("material_after_words"):
        return pl.lit(False)
    openers = sorted(set(load_words(VERBS)) | {str(w).lower() for w in ur.get("more_request") or []})

    phrase = ur.get("more_request_phrase")

    def material(text: pl.Expr, words: pl.Expr | int) -> pl.Expr:
        first = text.str.to_lowercase().str.extract(r"^\W*([\p{L}']+)", 1)
        # (a request verb's inflections too: "Makes", "Using")
        stem = first.str.replace(r"(?:ing|ed|es|s)$", "")
        opens_request = first.is_in(openers) | stem.is_in(openers) | (stem + "e").is_in(openers)
        if phrase:
            opens_request = opens_request | text.str.contains("(?i)" + phrase)
        return ((text.str.count_matches(r"\S+") >= words) & ~opens_request.fill_null(False)).fill_null(False)

    nxt = tail.str.extract(r"^[^\n]*\n[ \t]*([^\n]+)", 1)
    after = tail.str.extract(r"^[^\n]*?[.!?][ \t]+([^\n]+)", 1)
    line_words = int(ur.get("material_line_words") or 10**6)
    if ur.get("forward_line_words") and ur.get("forward"):  # "the sentence below\nThe cat sleeps."
        fwd = tail.str.contains("(?i)^.{0,40}" + ur["forward"])
        line_words = pl.when(fwd).then(pl.lit(int(ur["forward_line_words"]))).otherwise(pl.lit(line_words))
    return material(nxt, line_words) | material(after, int(ur.get("material_after_words") or 10**6))


def _parts(ins: pl.Expr, max_query_words: int) -> tuple[pl.Expr, pl.Expr]:
    """The request (first paragraph) and the query (last paragraph, when there are several
    and it is short). Long paragraphs are inline material (an abstract, a passage), and
    few-shot prompts put the actual query last, after the solved examples."""
    s = ins.str.strip_chars()
    request = s.str.extract(r"(?s)^(.*?)(?:\n\s*\n|$)", 1).fill_null("")
    last = s.str.extract(r"(?s)\n\s*\n((?:[^\n]|\n[^\S\n]*\S)*)$", 1)
    short = last.str.count_matches(r"\S+") <= max_query_words
    query = pl.when(last.is_not_null() & short).then(last).otherwise(pl.lit(""))
    return request, query


def _verb_and_object(request: pl.Expr, length: dict) -> pl.Expr:
    """A short request that is a request verb and a concrete object is whole: "Define entropy.",
    "Summarize Hamlet." (not "Help.", "Continue please.", "Do it.")."""
    if not length.get("verb_and_object_ok"):
        return pl.lit(False)
    first = request.str.to_lowercase().str.extract(r"^\W*([a-z]+)", 1)
    verbs = sorted(set(load_words(VERBS)))
    # a word and the quoted material it works on is whole too: "Capitalize 'paris'.", "Negate 'x > 3'."
    quoted = request.str.contains(r"^\W*\p{L}+\s+['\"“‘«][^'\"”’»]+['\"”’»]\W*$")
    return (first.is_in(verbs).fill_null(False) & (concrete_words(request, verbs=True) >= 1)) | quoted


def checks(df: pl.DataFrame, cfg: dict | None = None) -> pl.DataFrame:
    """One boolean column per check, a row per row of `df` (`instruction`, `input`): True when
    the problem is present. Shared parts (request, query, the instruction as a code request
    reads it) are computed once as columns: as nested expressions each check recomputed them."""
    c = cfg or load_yaml(CLARITY)
    ur = c["unresolved_reference"]
    inp = pl.col("input") if "input" in df.columns else pl.lit(None, dtype=pl.Utf8)
    d = df.select(pl.col("instruction").cast(pl.Utf8).fill_null("").alias("ins"), _empty(inp).alias("no_input"))
    ins, no_input = pl.col("ins"), pl.col("no_input")
    request, query = _parts(ins, int(c["query_max_words"]))
    d = d.with_columns(request=request, query=query)
    # a formula is one word of the request's wording ("Factor $x^2-9$." is no request too
    # short, "\frac" no long word, "e^{x}" no placeholder); references read the formula as the
    # material it is ("Solve the equation $x^2 - 5x + 6 = 0$.")
    if c.get("math_span"):
        m_request, m_query = _parts(ins.str.replace_all(c["math_span"], " FORMULA "), int(c["query_max_words"]))
        d = d.with_columns(m_request=m_request, m_query=m_query)
    else:
        d = d.with_columns(m_request=pl.col("request"), m_query=pl.col("query"))
    request, query, m_request, m_query = (pl.col(k) for k in ("request", "query", "m_request", "m_query"))
    # length and readability of the request itself: inline material after a blank line
    # (an abstract, few-shot exemplars) is context, not wording to follow
    # quoted material inside the request ("... negative: \"<a review>\"") is not wording
    d = d.with_columns(plain=m_request.str.replace_all(r'"[^"]{20,}"|“[^”]{20,}”', "QUOTE"))
    plain = pl.col("plain")
    n = plain.str.count_matches(WORD_RE)  # (a CJK character is a word)
    per_sentence = n / plain.str.count_matches(SENTENCE_END_RE).clip(lower_bound=1)
    mean_chars = plain.str.replace_all(r"\s+", "").str.len_chars() / n.clip(lower_bound=1)
    wording = request + pl.lit("\n") + query
    # a request that is a bare label ("TL;DR:" over an input, "Information:" over the facts
    # and a question) is a prompt format, not wording whose length or style can be judged
    label = request.str.contains(r"^\W{0,3}[\p{L}\d][\p{L}\d ;/&'-]{0,30}:\s*$") & \
        (~no_input | (_len(ins) > _len(request)))
    out = {
        "too_short": (n < c["length"]["min_words"]) & ~_verb_and_object(plain, c["length"]) & ~label,
        "too_long": n > c["length"]["max_words"],
        "long_sentence": (per_sentence > c["readability"]["max_words_per_sentence"]) & ~label,
        "long_words": (mean_chars > c["readability"]["max_mean_word_chars"]) & ~label,
    }
    code = request.str.contains(_fill(ur["code_request"], c)) if ur.get("code_request") else pl.lit(False)
    if ur.get("not_code_request"):
        code = code & ~request.str.contains(_fill(ur["not_code_request"], c))
    d = d.with_columns(code=code)
    code = pl.col("code")
    ins_c, query_c = ins, query
    if ur.get("code_parameter"):  # in a request for code, "the given list" is its parameter
        param = _fill(ur["code_parameter"], c)
        ins_c, query_c = (pl.when(code).then(e.str.replace_all(param, "the")).otherwise(e) for e in (ins, query))
    # the query (a short last paragraph) points back at material in the paragraphs before it
    # ("Passage: ...\n\nWhat would be a good title for this passage?"), unless it points forward
    # (a few-shot prompt's last "Summarize the following text." with nothing after it)
    # (a paragraph before it long enough to be material, and no persona or more request: "You
    # are an expert editor ...\n\nSummarize this article." points at nothing)
    d = d.with_columns(ins_c=ins_c, query_c=query_c)
    ins_c, query_c = pl.col("ins_c"), pl.col("query_c")
    before_query = ins_c.str.strip_chars().str.slice(0, _len(ins_c.str.strip_chars()) - _len(query_c))
    paras = before_query.str.replace_all(r"\n[ \t]*\n", "\x00").str.split("\x00")
    el = pl.element()
    material_para = (el.str.count_matches(r"\S+") >= int(c.get("query_material_words", 15)))
    if ur.get("persona"):
        material_para = material_para & ~el.str.contains("(?i)" + ur["persona"])
    backed = paras.list.eval(material_para).list.any().fill_null(False) & \
        ~query_c.str.contains("(?i)" + ur.get("forward", r"\b(?:following|below)\b"))
    ins_r, query_r = ins_c, query_c
    if ur.get("time_pointer"):
        ins_r, query_r = (e.str.replace_all(ur["time_pointer"], "next $1") for e in (ins_r, query_r))
    d = d.with_columns(backed=backed, ins_r=ins_r, query_r=query_r)
    for kind in REFERENCES:
        pat = _fill(ur[kind]["pattern"], c)
        ante = bool(ur[kind].get("needs_no_antecedent"))
        data = bool(ur[kind].get("resolved_by_data_before"))
        found = d["no_input"] & (_unresolved(d, "ins_r", pat, ur, ante, data) |
                                 (_unresolved(d, "query_r", pat, ur, ante, data) & ~d["backed"]))
        if ur[kind].get("spared_by_code_request"):
            # in a request for code only nouns that must be material count ("answer the question")
            nouns = ur.get("material_nouns") or c["text_nouns"]
            mat = _fill(ur[kind]["pattern"], {**c, "text_nouns": nouns, "given_nouns": nouns})
            in_code = d["no_input"] & (_unresolved(d, "ins_r", mat, ur, ante) |
                                       (_unresolved(d, "query_r", mat, ur, ante) & ~d["backed"]))
            found = in_code.zip_with(d["code"], found)
        d = d.with_columns(found.alias(f"ref_{kind}"))
        out[f"ref_{kind}"] = pl.col(f"ref_{kind}")
    ins, query = ins_c, query_c  # the checks below read the instruction as a code request reads it
    uc = c["undefined_criteria"]
    said = wording.str.replace_all("(?i)" + uc["noun_use"], " NOUN ") if uc.get("noun_use") else wording
    crit = said.str.contains(_fill(uc["pattern"], c))
    out["undefined_criteria"] = crit & no_input
    out["undefined_criteria_with_input"] = crit & ~no_input
    ph = c["placeholder"]
    ph_text = m_request + pl.lit("\n") + m_query  # (formulas out: "e^{x}" is no {placeholder})
    if ph.get("blanks_asked"):  # a cloze task's blanks are its point
        ph_text = pl.when(ph_text.str.contains(ph["blanks_asked"])) \
            .then(ph_text.str.replace_all(r"_{3,}", " ")).otherwise(ph_text)
    # a quoted placeholder is mentioned, not left unfilled ("What is 'lorem ipsum' used for?")
    quoted = "(?i)[\"'“‘`]\\s*" + ph["pattern"] + "\\s*[\"'”’`]"
    found = ph_text.str.replace_all(quoted, " ").str.contains("(?i)" + ph["pattern"])
    if ph.get("tokens_asked"):  # a token the answer is asked to write ("replace names with [NAME]"),
        # said outside the token itself ("the flavors of <mask> and <mask>" asks for nothing)
        found = found & ~ph_text.str.replace_all("(?i)" + ph["pattern"], " ").str.contains(ph["tokens_asked"])
    out["placeholder"] = found
    out["many_questions"] = wording.str.count_matches(r"\?") > c["many_questions"]["max_questions"]
    mo = _fill(c["missing_object"]["pattern"], c)
    out["missing_object"] = no_input & (ins.str.strip_chars().str.contains(mo) | query.str.strip_chars().str.contains(mo))
    t = ins.str.strip_chars()
    n_all = t.str.count_matches(r"\S+")
    low = t.str.to_lowercase()
    br = c.get("bare_reference")
    if br:
        out["bare_reference"] = no_input & (n_all <= int(br["max_words"])) & low.str.contains(br["pronouns"]) & \
            (_content_words(low, br.get("not_content") or []) <= int(br["max_content_words"]))
    nt = c.get("no_topic")
    if nt:
        # a deliverable and nothing it is about: "Give me some ideas.", "Suggest a name.",
        # "Generate some questions." (no input; every content word is a deliverable noun)
        first = low.str.extract(r"^\W*(?:(?:please|can\s+you|could\s+you|would\s+you)\s+)?([\p{L}']+)", 1)
        out["no_topic"] = no_input & (n_all <= int(nt["max_words"])) & \
            first.is_in(sorted(set(load_words(VERBS)) | set(nt.get("openers") or []))).fill_null(False) & \
            low.str.contains(r"\b(?:" + "|".join(nt["deliverables"]) + r")\b") & \
            (_content_words(low, list(nt["deliverables"]) + list(nt.get("not_content") or [])) == 0)
    ud = c.get("unspecified_definite")
    if ud:
        listed = t.str.contains(r"(?i)\bthe\s+(?:\w+\s+)?" + ud["nouns"] + r"\s*[.?!]*\s*$")
        if ud.get("bare_head"):
            # any noun, when "the <noun>" is all the request names: "Convert the temperature.",
            # "Explain the rules." (not "Describe the sun.": `unique_referents`; not a name:
            # the head is lower-case; one concrete word besides request verbs: the head itself)
            bh = ud["bare_head"]
            head = t.str.extract(r"\bthe\s+(\p{Ll}+)(?:\s+(?:" + bh["trailing"] + r"))?\s*[.?!]*\s*$", 1)
            listed = listed | (head.is_not_null() & ~head.is_in(list(bh["unique_referents"])).fill_null(False) &
                               (concrete_words(t, verbs=True) <= 1))
        out["unspecified_definite"] = no_input & (n_all <= int(ud["max_words"])) & listed
    vr = c.get("vague_request")
    if vr:
        # a request unsure of its own subject ("or maybe", "some kind of", "at some point"), or
        # one that leaves the goal to the model ("handle whatever needs handling", "as you see fit")
        said_low = wording.str.to_lowercase()
        out["hedged"] = said_low.str.extract_all(vr["hedges"]).list.unique().list.len() >= int(vr["min_hedges"])
        out["open_goal"] = said_low.str.contains(vr["open_goal"]) & ~t.str.contains(r"\?\s*$")
    return d.select(**out)


def _content_words(low: pl.Expr, extra: list[str]) -> pl.Expr:
    """Words of 3+ letters that are no stopword, generic word, request verb (also inflected:
    "causes"; "wrote" is not) or word of `extra` (pronouns, "thing")."""
    skip = sorted(set(load_words(STOPWORDS)) | set(load_words(GENERIC)) | set(load_words(VERBS)) |
                  {str(w).lower() for w in extra})
    el = pl.element()
    stem = el.str.replace(r"(?:ing|ed|es|s)$", "")
    keep = ~el.is_in(skip) & ~stem.is_in(skip) & ~(stem + "e").is_in(skip) & (el.str.len_chars() >= 3)
    return low.str.extract_all(r"[\p{L}']+").list.eval(el.filter(keep)).list.len()


REFERENCES = ("deictic", "demonstrative", "definite", "pronoun_object")


def factors(c: dict) -> dict[str, float]:
    ur = c["unresolved_reference"]
    return {
        "too_short": c["length"]["too_short"], "too_long": c["length"]["too_long"],
        "long_sentence": c["readability"]["long_sentence"], "long_words": c["readability"]["long_words"],
        **{f"ref_{k}": ur[k]["factor"] for k in REFERENCES},
        "undefined_criteria": c["undefined_criteria"]["factor"],
        "undefined_criteria_with_input": c["undefined_criteria"]["factor_with_input"],
        "placeholder": c["placeholder"]["factor"], "many_questions": c["many_questions"]["factor"],
        "missing_object": c["missing_object"]["factor"],
        **({"bare_reference": c["bare_reference"]["factor"]} if c.get("bare_reference") else {}),
        **({"no_topic": c["no_topic"]["factor"]} if c.get("no_topic") else {}),
        **({"unspecified_definite": c["unspecified_definite"]["factor"]} if c.get("unspecified_definite") else {}),
        **({"hedged": c["vague_request"]["hedge_factor"], "open_goal": c["vague_request"]["open_goal_factor"]}
           if c.get("vague_request") else {}),
    }


def concrete_words(e: pl.Expr, verbs: bool = False) -> pl.Expr:
    """Words of 3+ letters that are neither stopwords nor generic request words (nor, with
    `verbs`, request verbs of rules/score/verbs.txt)."""
    skip = set(load_words(STOPWORDS)) | set(load_words(GENERIC))
    if verbs:
        skip |= set(load_words(VERBS))
    skip = sorted(skip)
    toks = e.fill_null("").str.to_lowercase().str.extract_all(TOKEN_RE)  # any script
    return toks.list.eval(pl.element().filter(~pl.element().is_in(skip))).list.len()


def specificity(c: dict) -> pl.Expr:
    s = c["specificity"]
    words = concrete_words(pl.col("instruction")).cast(pl.Float64) + \
        concrete_words(pl.col("input")).cast(pl.Float64).clip(upper_bound=float(s["input_words"]))
    return s["floor"] + (1.0 - s["floor"]) * (1.0 - (-words / s["scale"]).exp())


def score(df: pl.DataFrame, cfg: dict | None = None) -> pl.Series:
    """Clarity in [0, 1] per row of `df` (`instruction`, `input`)."""
    c = cfg or load_yaml(CLARITY)
    if "input" not in df.columns:
        df = df.with_columns(input=pl.lit(None, dtype=pl.Utf8))
    chk = checks(df, c)
    refs = [f"ref_{k}" for k in REFERENCES]
    # one pointer often matches several kinds ("evaluate the following website"): the
    # strongest counts, once
    ref = pl.min_horizontal([pl.when(pl.col(k)).then(pl.lit(float(f))).otherwise(pl.lit(1.0))
                             for k, f in factors(c).items() if k in refs])
    out = pl.col("_specificity") * ref
    for k, f in factors(c).items():
        if k not in refs:
            out = out * pl.when(pl.col(k)).then(pl.lit(float(f))).otherwise(pl.lit(1.0))
    return chk.with_columns(df.select(specificity(c).alias("_specificity"))).select(out.clip(0.0, 1.0).alias("score_clarity")).to_series()
