"""Verifiable constraints of an instruction that the answer breaks (IFEval's idea, checked by
rules): a word or character limit, one sentence, one word, yes or no only, JSON, all capital letters, the
programming language asked for, a number of bullet points, sentences or words, a letter or a
word left out, a keyword put in, all lower case, YAML, a table, code, the keys of a JSON
object, a closing question, an acrostic, a table's columns, no bullets, a title's length, a
list of keywords to include or words to leave out, a closing phrase, a first word, no commas, a
title in << >>, a number of lines, a summary shorter than its source.

Each check reads the instruction for an explicit constraint (rules/score/quality.yaml,
`constraints`) and the answer for the plain evidence that it was not kept, with a margin: an
answer of 23 words under "no more than 20 words" is kept, one of 60 is not. Polars
expressions, no model; score_quality multiplies by `factor` when any check fires.
"""
from __future__ import annotations

import json
import re

import polars as pl

from dataforge.clean.rules import CODE_RE
from dataforge.score import numbers
from dataforge.score.rules import load_yaml
from dataforge.words import WORD_RE, unfenced


def _fence_stripped(out: pl.Expr) -> pl.Expr:
    return out.str.strip_chars().str.replace(r"(?s)^```[\w-]*\s*\n(.*?)\n?```$", "${1}").str.strip_chars()


def csv_fields_differ(text: str) -> bool:
    """Whether the answer's CSV (its fenced block, else its first run of lines with commas, an
    intro line ending in ":" aside) has a row with more or fewer fields than its header: a comma
    left unquoted ("Baker, Holt Ltd,UK,4.2") or a field left out. A block fenced as code (SQL
    built from the CSV) and a first line that is no header (a field of over 5 words, a sentence) are not read."""
    import csv

    fenced = re.search(r"```([\w-]*)[ \t]*\n(.*?)```", text, flags=re.S)
    if fenced and fenced.group(1).lower() not in ("", "csv", "text", "plaintext", "txt"):
        return False  # SQL or code built from the CSV
    lines = (fenced.group(2) if fenced else text).strip().splitlines()
    start = next((i for i, ln in enumerate(lines) if "," in ln and not ln.rstrip().endswith(":")), None)
    if start is None:
        return False
    run = []
    for ln in lines[start:]:
        if not ln.strip() or "," not in ln:
            break
        run.append(ln)
    if len(run) < 2:
        return False
    rows = list(csv.reader(run))
    header = rows[0]
    if any(not h.strip() or len(h.split()) > 5 or h.strip()[-1] in ".!?" for h in header):  # a sentence
        return False
    return any(len(r) != len(header) for r in rows[1:])


def _date_parts(form: str, text: str) -> dict[str, str] | None:
    """{"Y": ..., "M": ..., "D": ...} of `text` written in `form` ("DD/MM/YYYY"), or None."""
    groups = re.findall(r"Y+|M+|D+|[^YMD]", form.upper())
    regex = "".join(f"(?P<{g[0]}>\\d{{{len(g)}}})" if g[0] in "YMD" else re.escape(g) for g in groups)
    m = re.fullmatch(regex, text.strip().rstrip("."))
    return m.groupdict() if m else None


def date_converted_wrong(forms: str, given: str, answer: str) -> bool:
    """Whether `answer`, a date in the last form named ("YYYY-MM-DD"), is not `given` (a date in
    the first form named, "MM/DD/YYYY") converted: day and month swapped, a digit changed.
    `forms` joins the forms the request names with "|"."""
    names = forms.split("|")
    if len(names) < 2 or names[0].upper() == names[-1].upper():
        return False
    src, dst = _date_parts(names[0], given), _date_parts(names[-1], answer)
    # (the same parts in both, and a year of as many digits: "YYYY-MM" names no day)
    if not src or not dst or set(src) != set(dst) or len(src.get("Y", "")) != len(dst.get("Y", "")):
        return False
    return any(src[k] != dst[k] for k in src)


_KINDS = {"str": str, "string": str, "int": int, "integer": int, "float": (int, float), "number": (int, float),
          "bool": bool, "boolean": bool, "list": list, "array": list, "object": dict, "dict": dict}
_TYPED = re.compile(r'"(\w+)"\s*:\s*(?:(str|string|int|integer|float|number|bool|boolean)\b|(\{)|(\[))'
                    r"|\b(\w+)\s*\((integer|int|number|float|boolean|bool|string|str|list|array)\b[^)]*\)", re.I)


def json_type_mismatch(request: str, answer: str) -> str | None:
    """The first key of `answer`'s JSON whose value is not of the type the request's schema gives
    it ('"party_size": int', 'party_size (integer)', '"price": {...}'), or None. Null is allowed
    everywhere (schemas say "or null" for what the text may lack); an answer that is no JSON is
    the `json` check's to judge."""
    want: dict[str, object] = {}
    for m in _TYPED.finditer(request):
        key = m.group(1) or m.group(5)
        kind = (m.group(2) or m.group(6) or "").lower()
        want.setdefault(key, _KINDS[kind] if kind else dict if m.group(3) else list)
    if not want:
        return None
    try:
        data = json.loads(unfenced(answer))
    except ValueError:
        return None
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                t = want.get(k)
                if t is not None and v is not None and (not isinstance(v, t) or isinstance(v, bool) and t in (int, (int, float))):
                    return k
                stack.append(v)
    return None


def _parsed_where(asked: pl.Expr, check, *parts: pl.Expr) -> pl.Expr:
    """`check(*parts)` (truthy or not) on the rows `asked` selects, False elsewhere: for checks that
    parse a row in Python (CSV, dates, JSON), which few rows need (map_elements skips the nulls)."""
    joined = pl.when(asked).then(pl.concat_str(list(parts), separator="\x00"))
    return joined.map_elements(lambda r: bool(check(*r.split("\x00", len(parts) - 1))),
                               return_dtype=pl.Boolean, skip_nulls=True).fill_null(False)


def _either_group(text: pl.Expr, regex: str) -> pl.Expr:
    """What the first or else the second group of `regex` captures (a request phrased two ways:
    "a six-word story" / "in exactly 6 words")."""
    return pl.coalesce([text.str.extract(regex, 1), text.str.extract(regex, 2)])


def _says(out: pl.Expr, word: pl.Expr) -> pl.Expr:
    """The answer holds `word` (lower-cased), anywhere; False where no word was asked."""
    return word.is_not_null() & out.str.to_lowercase().str.contains(word.fill_null("\x00"), literal=True)


def _quoted_list(ins: pl.Expr, regex: str) -> pl.Expr:
    """The distinct quoted words of the list `regex`'s group 1 captures ('the keywords "a" and
    "b"'), lower-cased; words of letters, digits, spaces, "'" and "-" (safe inside a regex)."""
    return ins.str.extract(regex, 1).str.extract_all(r"[\"“'‘`][\w][\w '-]{0,29}[\"”'’`]") \
        .list.eval(pl.element().str.slice(1, pl.element().str.len_chars() - 2).str.to_lowercase()).list.unique()


def _found(out: pl.Expr, words: pl.Expr) -> pl.Expr:
    """How many of `words` the answer holds as whole words (case aside)."""
    pattern = pl.lit(r"\b(?:") + words.list.join("|") + pl.lit(r")\b")
    return out.str.to_lowercase().str.extract_all(pattern).list.n_unique()


def checks(cfg: dict, with_input: bool = False) -> dict[str, pl.Expr]:
    """name -> True where the instruction sets the constraint and the answer breaks it (on a
    frame with an `input` column, `with_input` lets `summary_length` read its source there)."""
    ins = pl.col("instruction").fill_null("")
    out = pl.col("output").fill_null("")
    words = out.str.count_matches(WORD_RE)
    res: dict[str, pl.Expr] = {}
    wl = cfg.get("word_limit")
    if wl:  # "no more than 20 words", "in 50 words or fewer", "under 100 words"
        n = numbers.value(ins.str.extract(numbers.fill(wl["request"]), 1))
        firm = ins.str.contains(numbers.fill(wl["firm"])) if wl.get("firm") else pl.lit(False)
        over = pl.when(firm).then(float(wl.get("firm_margin", wl["margin"])) * n + float(wl.get("firm_slack", wl.get("slack", 0)))) \
            .otherwise(float(wl["margin"]) * n + float(wl.get("slack", 0)))
        res["word_limit"] = (n.is_not_null() & (words > over) &
                             ~ins.str.contains(wl.get("unless") or "$^")).fill_null(False)
    cl = cfg.get("char_limit")
    if cl:  # "a tweet (max 280 characters)": over margin x n + slack characters
        n = numbers.value(_either_group(ins, numbers.fill(cl["request"])))
        res["char_limit"] = (n.is_not_null() & (out.str.strip_chars().str.len_chars() > float(cl["margin"]) * n + float(cl.get("slack", 0))) &
                             ~ins.str.contains(cl.get("unless") or "$^")).fill_null(False)
    lc = cfg.get("line_count")
    if lc:  # "in exactly four lines": another number of lines (a title line aside)
        n = numbers.value(_either_group(ins, numbers.fill(lc["request"])))
        lines = out.str.split("\n").list.eval(pl.element().filter(
            (pl.element().str.strip_chars() != "") & ~pl.element().str.contains(lc["title"]))).list.len()
        res["line_count"] = (n.is_not_null() & (n <= int(lc.get("max_n", 20))) & (lines != n)).fill_null(False)
        if lc.get("forms"):  # "Write a haiku": three lines (a limerick five, a sonnet fourteen)
            form = ins.str.extract(lc["form_request"], 1).str.to_lowercase()
            want = form.replace_strict(dict(lc["forms"]), default=None, return_dtype=pl.Int64)
            body = out.str.split("\n").list.eval(pl.element().filter(
                (pl.element().str.strip_chars() != "") & ~pl.element().str.contains(lc["title"]) &
                ~pl.element().str.contains(lc.get("wrapper") or "$^")))
            longest = body.list.eval(pl.element().str.count_matches(WORD_RE)).list.max()
            verse = (body.list.len() >= 2) & (longest <= int(lc.get("verse_max_words", 15)))
            res["line_count"] = res["line_count"] | (want.is_not_null() & verse & (body.list.len() != want) &
                                                     ~ins.str.contains(lc.get("form_unless") or "$^")).fill_null(False)
    ew = cfg.get("exact_words")
    if ew:  # "a six-word story", "a 10-word slogan": off by a quarter of it, and at least `min_off`
        n = numbers.value(_either_group(ins, numbers.fill(ew["request"])))
        off = (words - n).abs()
        res["exact_words"] = (n.is_not_null() & (n <= int(ew.get("max_n", 30))) &
                              (off >= pl.max_horizontal(pl.lit(int(ew.get("min_off", 2))), n / 4))).fill_null(False)
    one = cfg.get("one_sentence")
    if one:  # "in one sentence", "a single sentence": a second sentence after the first
        # a sentence starts after a full stop and a space, with a capital
        sentences = out.str.strip_chars().str.count_matches(r"[.!?][\"')\]]*\s+[\"'(\[]?\p{Lu}") + 1
        res["one_sentence"] = ins.str.contains(one["request"]) & (sentences > int(one.get("max_sentences", 1))) & \
            ~ins.str.contains(one.get("unless") or "$^")
    ow = cfg.get("one_word")
    if ow:  # "answer with one word", "yes or no only"
        res["one_word"] = ins.str.contains(ow["request"]) & (words > int(ow["max_words"])) & \
            ~ins.str.contains(ow.get("unless") or "$^")
    js = cfg.get("json")
    if js:  # "as a JSON array", "in JSON format": the answer is no JSON value, or one that does not
        # parse ({'name': 'Maria'} is a Python dict; trailing commas, comments and NaN are not JSON)
        body = _fence_stripped(out)
        # (a JSON string is a value too: "Escape this text as a JSON string" -> "He said \"hi\"")
        string = body.str.contains(r'^"') & body.str.contains(r'"$')
        one_value = body.str.contains(r"^[\[{]") & body.str.contains(r"[\]}]$")
        invalid = one_value & body.str.json_path_match("$").is_null()
        res["json"] = ins.str.contains(js["request"]) & ((~body.str.contains(r"^[\[{]") & ~string) | invalid) & \
            ~ins.str.contains(js["unless"])
    jk = cfg.get("json_keys")
    if jk:  # 'a JSON object with the keys "name", "cuisine" and "price_range"': a key never written as one
        keys = ins.str.extract(jk["request"], 1).str.extract_all(r"[\"“'`][A-Za-z_][\w-]{0,39}[\"”'`]") \
            .list.eval(pl.element().str.slice(1, pl.element().str.len_chars() - 2)).list.unique()
        pattern = pl.lit('"(') + keys.list.join("|") + pl.lit(')"\\s*:')
        found = out.str.extract_all(pattern).list.eval(pl.element().str.extract(r'"([^"]+)"', 1)).list.n_unique()
        res["json_keys"] = ((keys.list.len() >= 2) & out.str.contains(r"\{") & (found < keys.list.len())).fill_null(False)
    cl = cfg.get("code_language")
    if cl:  # "Write a Python function": the answer's code is fenced as another language
        res["code_language"] = code_language(load_yaml(cl["file"]))
    bl = cfg.get("bullet_count")
    if bl:  # "in 3 bullet points": the answer's top-level bullets run to twice as many, and two
        # more; "in exactly 3 bullet points": to one more (over_answered's `exact` reads the same)
        n = numbers.value(ins.str.extract(numbers.fill(bl["request"]), 1))
        bullets = out.str.count_matches(r"(?m)^(?:[-*•]|[0-9]{1,3}[.)])[ \t]+\S")
        limit = pl.when(ins.str.contains(r"(?i)\bexactly\b")).then(n + 1).otherwise(pl.max_horizontal(n * 2, n + 2))
        res["bullet_count"] = (n.is_not_null() & (bullets >= limit)).fill_null(False)
    lg = cfg.get("lipogram")
    if lg:  # "without using the letter 'a'": the letter, `min_uses` times or more
        letter = ins.str.extract(lg["request"], 1).str.to_lowercase()
        uses = out.str.to_lowercase().str.count_matches(letter.fill_null("\x00"), literal=True)
        res["lipogram"] = (letter.is_not_null() & (uses >= int(lg.get("min_uses", 2)))).fill_null(False)
    kw = cfg.get("keyword")
    if kw:  # "it must include the word 'lantern'": the word is nowhere in the answer
        word = _either_group(ins, kw["request"]).str.to_lowercase()
        res["keyword"] = (word.is_not_null() & ~_says(out, word) & ~ins.str.contains(kw.get("unless") or "$^")).fill_null(False)
    bw = cfg.get("banned_word")
    if bw:  # "without using the word 'beautiful'": the word is in the answer
        # (as a whole word: "art" is not banned from "start" or "heart")
        word = ins.str.extract(bw["request"], 1).str.to_lowercase()
        escaped = word.str.replace_all(r"([\\.^$|?*+()\[\]{}])", r"\$1")
        res["banned_word"] = (word.is_not_null() & out.str.to_lowercase().str.contains(
            pl.lit(r"(?:^|[^\p{L}\p{N}])") + escaped.fill_null("\x00") + pl.lit(r"(?:$|[^\p{L}\p{N}])"))).fill_null(False)
    kl = cfg.get("keyword_list")
    if kl:  # 'Include the keywords "sustainability" and "community"': one of them missing
        words_ = _quoted_list(ins, kl["request"])
        res["keyword_list"] = ((words_.list.len() >= 2) & (_found(out, words_) < words_.list.len()) &
                               ~ins.str.contains(kl.get("unless") or "$^")).fill_null(False)
    bl_ = cfg.get("banned_list")
    if bl_:  # 'without using the words "green" or "tree"': one of them used
        words_ = _quoted_list(ins, bl_["request"])
        res["banned_list"] = ((words_.list.len() >= 2) & (_found(out, words_) >= 1)).fill_null(False)
    ep = cfg.get("end_phrase")
    if ep:  # 'End your response with the exact phrase "Any questions?"': the answer ends otherwise
        tail = r" \t\n\"'“”‘’.!?*_)"
        phrase = ins.str.extract(ep["request"], 1).str.to_lowercase().str.strip_chars(tail)
        end = out.str.to_lowercase().str.strip_chars(tail)
        res["end_phrase"] = ((phrase.str.len_chars() > 0) & ~end.str.ends_with(phrase.fill_null("\x00"))).fill_null(False)
    sw = cfg.get("start_word")
    if sw:  # 'Your response must begin with the word "Absolutely"': it begins otherwise
        word = ins.str.extract(sw["request"], 1).str.to_lowercase().str.strip_chars()
        start = out.str.to_lowercase().str.strip_chars_start(" \t\n\"'“‘*_#>")
        res["start_word"] = ((word.str.len_chars() > 0) & ~start.str.starts_with(word.fill_null("\x00")) &
                             ~ins.str.contains(sw.get("unless") or "$^")).fill_null(False)
    nc = cfg.get("no_commas")
    if nc:  # "Do not use any commas": a comma anyway (not one inside a number, "1,000")
        res["no_commas"] = ins.str.contains(nc["request"]) & \
            (out.str.replace_all(r"\d,\d", "").str.count_matches(r"[,，]") >= int(nc.get("min_commas", 1)))
    tb_ = cfg.get("title_brackets")
    if tb_:  # "a title wrapped in double angular brackets, <<title>>": none
        res["title_brackets"] = ins.str.contains(tb_["request"]) & ~out.str.contains(r"<<[^<>\n]+>>")
    low = cfg.get("all_lower")
    if low:  # "using only lowercase letters": capitals left
        res["all_lower"] = ins.str.contains(low["request"]) & \
            (out.str.count_matches(r"\p{Lu}") >= int(low.get("min_upper", 1)))
    ym = cfg.get("yaml")
    if ym:  # "Convert the settings into YAML": a JSON object or TOML handed back instead
        body = _fence_stripped(out)
        toml = body.str.contains(r"(?m)^[A-Za-z_][\w.-]*[ \t]*=[ \t]*\S") & ~body.str.contains(r"(?m)^[ \t]*[\w-]+:[ \t]")
        res["yaml"] = ins.str.contains(ym["request"]) & (body.str.contains(r'^[\[{]\s*"') | toml) & \
            ~ins.str.contains(ym.get("unless") or "$^")
    sc = cfg.get("sentence_count")
    if sc:  # "in exactly two sentences": two or more sentences past the count
        n = numbers.value(_either_group(ins, sc["request"]))
        sentences = out.str.strip_chars().str.count_matches(r"[.!?][\"')\]]*\s+[\"'(\[]?\p{Lu}") + 1
        res["sentence_count"] = (n.is_not_null() & (sentences >= n + 2) & ~ins.str.contains(sc.get("unless") or "$^") &
                                 ~out.str.contains(r"(?m)^\s*(?:[-*•]|\d{1,2}[.)])\s")).fill_null(False)
    tb = cfg.get("table")
    if tb:  # "in a markdown table": no table; "as CSV": a markdown table
        has_table = out.str.contains(r"(?m)^[ \t]*\|.*\|") | out.str.contains(r"(?m)^[^\n]*\t[^\n]*\t") | \
            out.str.contains(r"(?m)^[^\n|]*\|[^\n|]*\|[^\n]*$\n^[^\n|]*\|") | \
            out.str.contains(r"\\begin\{tabular|<table\b|(?m)^\s*\+[-+]+\+\s*$") | \
            out.str.contains(r"(?m)^[ \t]*:?-{3,}:?[ \t]*\|")  # LaTeX, HTML, a grid, a header rule "---|---"
        no_table = ins.str.contains(tb["request"]) & ~has_table
        csv_as_md = ins.str.contains(tb["csv_request"]) & out.str.contains(r"(?m)^[ \t]*\|.*\|[ \t]*$\n^[ \t]*\|[-: |]+\|")
        res["table"] = (no_table | csv_as_md) & ~ins.str.contains(tb.get("unless") or "$^")
    cf = cfg.get("csv_fields")
    if cf:  # "Convert the contacts to CSV": a row with more or fewer fields than the header
        asked = ins.str.contains(cf["request"]) & ~ins.str.contains(cf.get("unless") or "$^") & out.str.contains(",")
        res["csv_fields"] = _parsed_where(asked, csv_fields_differ, out)
    cm = cfg.get("code_missing")
    if cm:  # "Write a C function": no code in the answer at all
        sym = r"[\\^$(){}\[\]|*+?=;<>]"
        # (SQL clauses and Dockerfile instructions in capitals, a line each, are code too)
        keyword_lines = out.str.count_matches(
            r"(?m)^\s*(?:SELECT|FROM|WHERE|JOIN|GROUP BY|ORDER BY|HAVING|LIMIT|INSERT|UPDATE|DELETE|CREATE|WITH|"
            r"RUN|COPY|WORKDIR|CMD|ENTRYPOINT|ENV|EXPOSE|ARG|ADD)\b")
        codeless = ~out.str.contains("`") & ~out.str.contains(CODE_RE) & (keyword_lines < 2) & \
            ~out.str.contains(rf"(?m)^[^\n]*{sym}[^\n]*{sym}[^\n]*{sym}")
        res["code_missing"] = ins.str.contains(cm["request"]) & ins.str.contains(cm.get("code_named") or ".") & \
            codeless & ~ins.str.contains(cm.get("unless") or "$^")
        if cm.get("unless_instruction_file"):  # (ransomware asked for: a refusal without code is right)
            from dataforge.score.heuristics import harmful_patterns
            pats = harmful_patterns(cm["unless_instruction_file"])
            if pats:
                res["code_missing"] = res["code_missing"] & ~ins.str.contains("(?i)" + pats)
    eq = cfg.get("end_question")
    if eq:  # "End with a question to engage followers": no question mark anywhere
        res["end_question"] = ins.str.contains(eq["request"]) & ~out.str.contains("[?？¿\u037e]") & \
            (words >= int(eq.get("min_words", 5)))
    ac = cfg.get("acrostic")
    if ac:  # "an acrostic poem for SNOW": the lines' first letters never spell it, top to bottom
        word = _either_group(ins, ac["request"]).str.to_uppercase()
        initials = out.str.extract_all(r"(?m)^[^\p{L}\n]*\p{L}").list.eval(pl.element().str.tail(1)) \
            .list.join("").str.to_uppercase()
        res["acrostic"] = (word.is_not_null() & ~initials.str.contains(word.fill_null("\x00"), literal=True)).fill_null(False)
    tc = cfg.get("table_columns")
    if tc:  # "a table with 3 columns": the markdown table's header has fewer cells
        n = numbers.value(_either_group(ins, numbers.fill(tc["request"])))
        header = out.str.extract(r"(?m)^[ \t]*(\|.*\|)[ \t]*$", 1)
        cells = header.str.count_matches(r"\|") - 1
        res["table_columns"] = (n.is_not_null() & (cells < n)).fill_null(False)
    nb = cfg.get("no_bullets")
    if nb:  # "one paragraph, no bullet points": bullet or numbered lines anyway
        items = out.str.count_matches(r"(?m)^[ \t]*(?:[-*•]|[0-9]{1,2}[.)])[ \t]+\S")
        res["no_bullets"] = ins.str.contains(nb["request"]) & (items >= int(nb.get("min_items", 2))) & \
            ~ins.str.contains(nb.get("unless") or "$^")
    df_ = cfg.get("date_format")
    if df_:  # "to ISO 8601 (YYYY-MM-DD)": a short answer with a number and no date of that form
        forms = ins.str.extract_all(df_["pattern"])
        form = forms.list.last().str.to_uppercase()
        form = pl.when(form.is_null() & ins.str.contains(df_["iso"])).then(pl.lit("YYYY-MM-DD")).otherwise(form)
        date_re = pl.lit(r"(?:^|\D)") + form.str.replace_all(r"\.", r"\.", literal=True).str.replace_all(r"[YMD]", r"\d") + pl.lit(r"(?:\D|$)")
        short = (out.str.count_matches(WORD_RE) <= int(df_.get("max_words", 8))) & out.str.contains(r"\d") & \
            ~ins.str.contains(df_.get("unless") or "$^")
        res["date_format"] = (form.is_not_null() & short & ~out.str.contains(date_re)).fill_null(False)
        if with_input:  # "The date is in MM/DD/YYYY. Convert it to YYYY-MM-DD." -> the input's date, converted
            asked = (forms.list.len() >= 2) & short & pl.col("input").fill_null("").str.contains(r"^\s*\d[\d/.-]{5,}\d\s*$")
            res["date_format"] = res["date_format"] | _parsed_where(asked, date_converted_wrong, forms.list.join("|"),
                                                                    pl.col("input"), out)
    jt = cfg.get("json_types")
    if jt:  # '{"party_size": int, ...}' or 'party_size (integer)': a value of another type ("six")
        asked = ins.str.contains(jt["request"]) & out.str.contains(r"[{\[]")
        res["json_types"] = _parsed_where(asked, lambda i, o: json_type_mismatch(i, o) is not None, ins, out)
    nf = cfg.get("no_fence")
    if nf:  # "no markdown, no code fences": a fence anyway
        res["no_fence"] = ins.str.contains(nf["request"]) & out.str.contains("```")
    sl = cfg.get("summary_length")
    if sl:  # "Summarize the news brief.": as long as the brief or longer
        inp = pl.col("input").fill_null("") if with_input else pl.lit("")
        carried = ins.str.extract(sl["carried"], 1).fill_null("")
        source = pl.when(inp.str.strip_chars() != "").then(inp).otherwise(carried).str.count_matches(WORD_RE)
        res["summary_length"] = ins.str.contains(sl["request"]) & ~ins.str.contains(sl.get("unless") or "$^") & \
            (source >= int(sl["min_source_words"])) & (words >= float(sl["ratio"]) * source)
    tl = cfg.get("title_length")
    if tl:  # "Write a title for this article": one line of a sentence's length or more
        res["title_length"] = ins.str.contains(tl["request"]) & ~ins.str.contains(tl.get("unless") or "$^") & \
            ~out.str.strip_chars().str.contains("\n") & (words > int(tl["max_words"]))
    caps = cfg.get("all_caps")
    if caps:  # "in all capital letters": lower-case letters left
        lower = out.str.count_matches(r"\p{Ll}")
        letters = out.str.count_matches(r"\p{L}").clip(lower_bound=1)
        res["all_caps"] = ins.str.contains(caps["request"]) & (lower > float(caps["max_lower_share"]) * letters)
    return res


def code_language(spec: dict) -> pl.Expr:
    """True where the instruction names one programming language and the answer's code fences
    name others, none of them it ("Write a Python function" -> a ```javascript fence). Fences
    of data, output or shell commands (`neutral`) neither break nor keep it; a request that
    names two languages (a port from one to the other) is not read."""
    ins = pl.col("instruction").fill_null("")
    langs = spec["languages"]
    named = {k: pl.any_horizontal([ins.str.contains(("" if v.get("case") else "(?i)") + p) for p in v["names"]])
             for k, v in langs.items()}
    n_named = pl.sum_horizontal([e.cast(pl.Int32) for e in named.values()])
    asked = pl.coalesce([pl.when(e).then(pl.lit(k)) for k, e in named.items()])
    alias = {str(f).lower(): k for k, v in langs.items() for f in v["fences"]}
    neutral = [str(x).lower() for x in spec.get("neutral", [])]
    tags = pl.col("output").fill_null("").str.extract_all(r"(?m)^[ \t]*```[ \t]*[A-Za-z0-9+#._-]+").list.eval(
        pl.element().str.extract(r"```[ \t]*([A-Za-z0-9+#._-]+)", 1).str.to_lowercase())
    canon = tags.list.eval(pl.element().replace_strict(alias, default=None, return_dtype=pl.Utf8))
    meaningful = tags.list.eval(pl.element().is_in(neutral).not_()).list.any()
    other = canon.list.eval(pl.element().is_not_null()).list.any()
    has_asked = canon.list.contains(asked)
    # (the asked language's fence tag may be neutral, as sql and bash are: then it keeps the row)
    asked_neutral_tag = tags.list.eval(pl.element().is_in(neutral)).list.any() & asked.is_in(["sql", "bash"])
    return ((n_named == 1) & meaningful & other & ~has_asked.fill_null(False) & ~asked_neutral_tag).fill_null(False)


def broken(cfg: dict | None) -> pl.Expr:
    """True where any constraint of `cfg` is broken."""
    if not cfg:
        return pl.lit(False)
    c = checks(cfg, with_input=True)  # (score_quality gives every frame an input column)
    return pl.any_horizontal(list(c.values())) if c else pl.lit(False)
