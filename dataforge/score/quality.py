"""Rule-based quality model of a response: the project's own defect detectors, task-aware.

score_quality multiplies (rules/score/quality.yaml):
- the factor of every detector rule of the cleaning rule set that fires on the row
  (refusals, AI disclaimers, truncation, garbled word order, unclosed code, repetition:
  rules/filters/default.yaml through dataforge/clean/rules.py). The filters and the score
  share one definition of each defect, including what the instruction and task excuse
  (a label or a summary needs no final period; a list of links was asked for);
- a continuous garble term from the rate of implausible function-word transitions
  (dataforge/clean/garble.py), so scrambled text ranks below fluent text even when the
  rule does not fire;
- the response-only checks of heuristics.quality_expr (generation cut off by its token
  limit, trailing "…", repeated n-grams and lines, length outside the task's range).
"""
from __future__ import annotations

import re

import polars as pl

from dataforge.clean import rules as R
from dataforge.clean.garble import garble_stats
from dataforge.score import constraints, final_answer, restated
from dataforge.score import heuristics as H
from dataforge.score import numbers
from dataforge.score.rules import load_words, load_yaml
from dataforge.words import SEA, SENTENCE_END_RE, WORD_RE


def detector_rules(cfg: dict) -> list[R.Rule]:
    """The rules whose firing lowers the score; `fields:` (detectors.fields) narrows a rule to
    the fields the answer's quality depends on (Alpaca's "<no input>" input is no fault of the
    answer's)."""
    det = cfg.get("detectors") or {}
    if not det.get("factors"):
        return []
    rules, _ = R.load(det.get("rules", "default"))
    by_name = {r.name: r for r in rules}
    narrowed = det.get("fields") or {}
    out = []
    for n in det["factors"]:
        if n in by_name:
            r = by_name[n]
            if n in narrowed:
                params = {k: v for k, v in r.params.items() if k != "field"} | {"fields": list(narrowed[n])}
                r = R.Rule(r.name, r.type, params, r.source)
            out.append(r)
    return out


def detector_digest(cfg: dict) -> str | None:
    det = cfg.get("detectors") or {}
    return R.load(det.get("rules", "default"))[1] if det.get("factors") else None


def detector_hits(df: pl.DataFrame, cfg: dict) -> dict[str, pl.Series]:
    """rule name -> boolean Series: True where the detector rule fires on the row."""
    out = {}
    for rule in detector_rules(cfg):
        r = R.reasons([rule], df)
        out[rule.name] = r.is_not_null().alias(rule.name)
    return out


def garble_factor(df: pl.DataFrame, cfg: dict) -> pl.Series:
    g = cfg.get("garble") or {}
    if not g or "output" not in df.columns:
        return pl.Series([1.0] * df.height, dtype=pl.Float64)
    st = garble_stats(df["output"])
    # (a short text's one odd transition is weak evidence: the rate is over at least `min_tokens`)
    rate = (st["bad"] / st["tokens"].clip(lower_bound=int(g.get("min_tokens", 1)))).cast(pl.Float64)
    # code and tables break the transitions by design: no penalty there
    code = df.select((pl.col("output").fill_null("").str.contains(R.CODE_RE)
                      | pl.col("output").fill_null("").str.contains(R.TABLE_RE)).alias("c"))["c"]
    over = (rate / float(g["rate_full"])).clip(0.0, 1.0)
    f = 1.0 - over * (1.0 - float(g["floor"]))
    return pl.select(pl.when(pl.lit(code)).then(1.0).otherwise(pl.lit(f)).alias("g"))["g"]


def filler_factor(df: pl.DataFrame, cfg: dict) -> pl.Series:
    """`factor_each` per different padding phrase in the answer, down to `floor`."""
    f = cfg.get("filler") or {}
    if not f or "output" not in df.columns:
        return pl.Series([1.0] * df.height, dtype=pl.Float64)
    phrases = [p.lower() for p in load_words(f["file"])]
    found = df.select(pl.col("output").fill_null("").str.replace_all("[’‘]", "'")
                      .str.extract_many(phrases, ascii_case_insensitive=True)
                      .list.eval(pl.element().str.to_lowercase()).list.n_unique().alias("n"))["n"]
    return (float(f["factor_each"]) ** found.cast(pl.Float64)).clip(lower_bound=float(f["floor"]))


def unfinished_item(cfg: dict) -> pl.Expr:
    """The last list item has no end mark while most earlier items of its kind do."""
    u = cfg.get("unfinished_item")
    if not u:
        return pl.lit(False)
    end = r"[.!?…:;)\]\"'”’*`]\s*$"
    lines = pl.col("output").fill_null("").str.strip_chars().str.split("\n").list.eval(
        pl.element().str.strip_chars().filter(pl.element() != ""))
    last = lines.list.last().fill_null("")
    items = R.sibling_items(last, lines.list.head(lines.list.len() - 1))
    ended = items.list.eval(pl.element().str.contains(end)).list.mean().fill_null(0.0)
    return (last.str.contains(R.ITEM_RE) & (items.list.len() >= u["min_items"]) & (ended >= u["min_ended_share"])
            & ~last.str.contains(end) & (last.str.count_matches(r"\S+") >= u["min_last_words"])
            # (nor one that ends on what ends a text by itself, as `truncated` reads it: a
            # number, a link, a worksheet's blank "________")
            & ~last.str.contains(R.FINAL_TOKEN_RE)
            # (nor one that ends on a symbol: a cut stops inside a word, and "(╯°□°)╯︵ ┻━┻" is whole)
            & last.str.contains(r"[\p{L}\p{N},]\s*$"))


def _truncated_param(cfg: dict, key: str) -> str | None:
    """A parameter of the `truncated` detector, read as it reads it: `time_token` (a time or date
    that ends a line, "by 30 May"), `letter_label` (a capital letter that ends a line as a label,
    an answer key's "7. A", not as the article "a"), `cut_asked` (an ending the request asks for)."""
    return next((r.get(key) for r in detector_rules(cfg) if r.type == "truncated"), None)


def _lines(text: pl.Expr) -> pl.Expr:
    """The text's non-blank lines, each stripped."""
    return text.str.split("\n").list.eval(pl.element().str.strip_chars().filter(pl.element() != ""))


def dangling(cfg: dict) -> pl.Expr:
    d = cfg.get("dangling")
    if not d:
        return pl.lit(False)
    words = sorted(set(R.dangling_words()) | set(d.get("extra_words") or []))
    o = pl.col("output").fill_null("").str.strip_chars()
    # ("economía" ends on no "a"; "founded_by", a snake_case label, on no "by")
    last_word = o.str.extract(r"(?:^|[^\p{L}\p{M}'_\d])([\p{L}\p{M}']+)$", 1).str.to_lowercase()
    # (not where the earlier lines mostly end so too: the text's form, as in the detector)
    lines = _lines(o)
    # (a date is no dangling word: "... by 30 May", as `truncated` reads it)
    time_token = _truncated_param(cfg, "time_token")
    dated = o.str.contains("(?i)" + time_token) if time_token else pl.lit(False)
    # (nor a capital letter that labels: an answer key's "7. A", "vitamin A")
    letter_label = _truncated_param(cfg, "letter_label")
    last_line = lines.list.last().fill_null("")
    label = last_line.str.contains(letter_label) if letter_label else pl.lit(False)
    # (nor code's last name, "return a", unless the line stops inside a string or a comment:
    # `printf("double: %zu by`; prose after the code is read, as `truncated` reads it)
    in_text = (last_line.str.count_matches('"') % 2 == 1) | last_line.str.contains(r"^\s*(?:#|//|--)")
    code = o.str.contains(R.CODE_RE) & ~R.prose_after_code(o) & ~in_text
    # (nor an ending the request asks for: "ending with AND so my code can append", "the first
    # clause of a sentence for students to finish", as `truncated` reads it)
    cut_asked = _truncated_param(cfg, "cut_asked")
    asked = pl.col("instruction").fill_null("").str.contains(cut_asked) if cut_asked else pl.lit(False)
    # (nor a whole answer of one capital letter: the option "A" of a lettered list)
    letter_answer = o.str.contains(r"^\(?\p{Lu}[.)]?$")
    # (nor "that" as a pronoun after a preposition: "nothing after that", as `truncated` reads it)
    pronoun = last_line.str.contains(R.PRONOUN_END)
    return last_word.is_in(words).fill_null(False) & ~dated & ~label & ~code & ~asked & ~letter_answer & ~pronoun & \
        ~R.word_endings_are_form(lines.list.head(lines.list.len() - 1), words) & \
        ~R.symbol_line(last_line) & ~R.label_row(last_line)  # "... C B A" is the alphabet; "Shop | Sign in" a nav bar


def no_end_mark(cfg: dict) -> pl.Expr:
    """Factor for a prose answer whose last line ends without any mark (1.0 elsewhere)."""
    n = cfg.get("no_end_mark")
    if not n:
        return pl.lit(1.0)
    o = pl.col("output").fill_null("").str.strip_chars()
    lines = _lines(o)
    last = lines.list.last().fill_null("")
    earlier = lines.list.head(lines.list.len() - 1)
    # the `truncated` detector's ending marks, unless the config names its own
    end = n.get("end_pattern") or f"[{re.escape(_truncated_param(cfg, 'end_chars') or R.END_CHARS)}]$"
    unended = earlier.list.eval(~pl.element().str.contains(end)).list.mean().fill_null(0.0)
    key_value = last.str.contains(r"^[^:]{1,60}:\s*\S") & \
        (last.str.replace(r"^[^:]*:", "").str.count_matches(r"\S+") <= 4)
    item = last.str.contains(r"^(\d+[.)]|[-*•])\s")
    last_words = last.str.count_matches(r"\S+")
    typical = earlier.list.eval(pl.element().str.count_matches(r"\S+")).list.median()
    short_last = (earlier.list.len() >= n["min_lines"]) & (last_words < typical * n["short_line"])
    prose = ~item & (unended <= n["max_unended_lines"])
    fires = ((o.str.count_matches(r"\S+") >= n["min_words"]) & (last_words >= n["min_last_words"])
             & ~o.str.contains(end) & ~o.str.contains(R.CODE_RE) & ~o.str.contains(R.TABLE_RE)
             & ~key_value & (prose | short_last.fill_null(False))
             # a line of symbols, an inline numbered answer key, a row of UI labels: words, no sentence
             & ~R.symbol_line(last) & ~R.inline_enumeration(last) & ~R.label_row(last) & ~R.foreign_tail(last)
             # a last token that ends a text by itself (a number, a link, a hashtag, closing
             # math), or a quote's attribution: what the `truncated` detector also accepts
             & ~last.str.contains(R.FINAL_TOKEN_RE) & ~last.str.contains(R.QUOTE_ATTRIBUTION_RE))
    # (and a time or date, as `truncated` reads one: "... by 30 May")
    time_token = _truncated_param(cfg, "time_token")
    if time_token:
        fires = fires & ~last.str.contains("(?i)" + time_token)
    relaxed = pl.col("task").fill_null("").is_in(list(n.get("relaxed_tasks") or []))
    f = pl.when(relaxed).then(float(n.get("relaxed_factor", n["factor"]))).otherwise(float(n["factor"]))
    return pl.when(fires).then(f).otherwise(1.0)


def asked_count(u: dict) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """under_answered's request read from the instruction: the count asked (a range's lower
    bound; digits or a word of `numbers`), its unit (lower-cased), the determiner before it
    ("at least", null if none) and the range's lower bound as written (null if no range)."""
    m = pl.col("instruction").fill_null("").str.extract_groups(u["request"])
    lo = m.struct.field("lo")
    n = _count_value(pl.coalesce(lo, m.struct.field("n")), u)
    return n, m.struct.field("unit").str.to_lowercase(), m.struct.field("det"), lo


def _count_value(raw: pl.Expr, u: dict) -> pl.Expr:
    """A count written in digits or as a word of under_answered's `numbers` ("three"), as an integer."""
    nums = {k: int(v) for k, v in (u.get("numbers") or {}).items()}
    raw = raw.str.to_lowercase()
    return pl.coalesce(raw.replace_strict(nums, default=None, return_dtype=pl.Int64), raw.cast(pl.Int64, strict=False))


def under_answered(cfg: dict) -> pl.Expr:
    """True where the instruction asks for N items (sentences, paragraphs) and the answer
    cannot hold them: fewer list lines, lines, sentences and separated parts than N."""
    u = cfg.get("under_answered")
    if not u:
        return pl.lit(False)
    n, unit, det, _ = asked_count(u)
    out = pl.col("output").fill_null("").str.strip_chars()
    lines = out.str.count_matches(r"(?m)^\s*\S")
    sentences = out.str.count_matches(SENTENCE_END_RE)
    # "A does X, whereas B ..."; CJK commas; Thai-like scripts part items with a space
    parts = out.str.count_matches(rf"[,;、，；]|\b(and|or|but|while|whereas|versus|vs)\b|[{SEA}]\s+[{SEA}]") + 1
    paragraphs = out.str.count_matches(r"\n\s*\n") + 1
    held = pl.when(unit == "paragraphs").then(pl.max_horizontal(paragraphs, lines)) \
        .when(unit == "sentences").then(pl.max_horizontal(sentences, lines)) \
        .when(unit.is_in(list(u.get("word_units") or []))).then(out.str.count_matches(WORD_RE)) \
        .otherwise(pl.max_horizontal(lines, sentences, parts))
    counted = det.is_null() & n.is_between(int(u.get("min_count", 2)), int(u.get("max_count", 50)))
    fires = counted & (held < n) & (out.str.len_chars() > 0)
    o = cfg.get("over_answered")
    if o and o.get("asked"):
        # ... or the answer is one list numbered 1..k with k < N, and little else ("Write three
        # slogans" -> "1. ... 2. ..."): its sentences are the items' own, not more items
        numbered, last = _numbered(out)
        other = lines - numbered - out.str.count_matches(r"(?m)^[ \t]+\S")
        short_list = (numbered >= 2) & (numbered == last) & (numbered < n) & (other <= 2) & \
            ~unit.is_in(list(o.get("composite_units") or [])) & \
            pl.col("instruction").fill_null("").str.contains("(?i)" + o["asked"])
        fires = fires | (counted & short_list)
    if u.get("unless"):
        fires = fires & ~pl.col("instruction").fill_null("").str.contains("(?i)" + u["unless"])
    if u.get("absent_material"):  # "Summarize the attached PDF" with nothing attached: asking for it is right
        fires = fires & ~(pl.col("instruction").fill_null("").str.contains("(?i)" + u["absent_material"]) &
                          (pl.col("input").fill_null("").str.strip_chars() == ""))
    return fires.fill_null(False)


def _numbered(out: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """How many lines open with an item number ("1.", "2)") at the line's start, and the highest."""
    nums = out.str.extract_all(r"(?m)^[0-9]{1,3}[.)]\s+\S").list.eval(
        pl.element().str.extract(r"([0-9]{1,3})", 1).cast(pl.Int64, strict=False))
    return nums.list.len().fill_null(0), nums.list.max().fill_null(0)


def over_answered(cfg: dict) -> pl.Expr:
    """True where the instruction asks for exactly N items (under_answered's request, no range,
    no "at least") and the answer numbers its items up to at least twice as many, and two
    more ("Give me 3 tips" answered with nine)."""
    o, u = cfg.get("over_answered"), cfg.get("under_answered")
    if not o or not u:
        return pl.lit(False)
    ins = pl.col("instruction").fill_null("")
    n, unit, det, lo = asked_count(u)
    # the highest number the answer gives an item: a list numbered past what was asked
    # (bullets are left out: sub-points and ingredient lists inflate them)
    # (ASCII digits: \d also matches Arabic-Indic "١", which no integer cast reads)
    items = pl.col("output").fill_null("").str.extract_all(r"(?m)^\s*[0-9]{1,3}[.)]\s+\S").list.eval(
        pl.element().str.extract(r"([0-9]{1,3})", 1).cast(pl.Int64, strict=False)).list.max().fill_null(0)
    # ... and where the request says "exactly", its top-level bullets too, and one past the count
    # is over ("List exactly 5 benefits as bullet points" answered with six; indented sub-points
    # not), as constraints' `bullet_count` reads "in exactly 5 bullet points"
    exact = ins.str.contains("(?i)" + o["exact"]) if o.get("exact") else pl.lit(False)
    bullets = pl.col("output").fill_null("").str.count_matches(r"(?m)^[-*•][ \t]+\S")
    if u.get("word_units"):  # keywords, tags, names on one line: each comma part is an item
        one_line = ~pl.col("output").fill_null("").str.strip_chars().str.contains("\n")
        commas = pl.col("output").fill_null("").str.count_matches(",") + 1
        parts = pl.when(unit.is_in(list(u["word_units"])) & one_line).then(commas).otherwise(0)
        items, bullets = pl.max_horizontal(items, parts), pl.max_horizontal(bullets, parts)
    if o.get("per_line"):  # "one per line": each line is an item (a line that opens a list is none)
        per_line = ins.str.contains("(?i)" + o["per_line"])
        lines = pl.col("output").fill_null("").str.count_matches(r"(?m)^[ \t]*\S[^\n]*$") - \
            pl.col("output").fill_null("").str.count_matches(r"(?m):[ \t]*$")
        bullets = pl.when(per_line).then(pl.max_horizontal(bullets, lines)).otherwise(bullets)
        exact = exact | per_line
    fires = det.is_null() & lo.is_null() & \
        n.is_between(int(u.get("min_count", 2)), int(u.get("max_count", 50))) & \
        ~unit.is_in(list(o.get("composite_units") or [])) & ~ins.str.contains("(?i)" + o["unless"]) & \
        ins.str.contains("(?i)" + o["asked"]) & \
        ((items >= pl.max_horizontal(n * 2, n + 2)) | (exact & (pl.max_horizontal(items, bullets) >= n + 1)))
    return fires.fill_null(False)


def announced_short(cfg: dict) -> pl.Expr:
    """True where the answer announces a count ("Here are the 6 steps to ...:") and its one
    numbered list stops short of it (1. and 2. only): a list cut before its end."""
    a = cfg.get("announced_count")
    if not a:
        return pl.lit(False)
    out = pl.col("output").fill_null("")
    head = out.str.strip_chars().str.split("\n").list.first().fill_null("")
    n = _count_value(head.str.extract(a["pattern"], 1), cfg.get("under_answered") or {})
    numbered, last = _numbered(out)
    return ((numbered >= 1) & (numbered == last) & (numbered < n)).fill_null(False)


def phantom_input(cfg: dict) -> pl.Expr:
    """True where the answer cites a passage or input that was never given."""
    p = cfg.get("phantom_input")
    if not p:
        return pl.lit(False)
    no_input = pl.col("input").fill_null("").str.strip_chars() == ""
    short = pl.col("instruction").fill_null("").str.count_matches(r"\S+") <= int(p.get("max_instruction_words", 40))
    return (no_input & short & pl.col("output").fill_null("").str.contains(p["pattern"])).fill_null(False)


def number_missing(cfg: dict) -> pl.Expr:
    """True where a question for a quantity gets a short answer with no number in it."""
    n = cfg.get("number_asked")
    if not n:
        return pl.lit(False)
    out = pl.col("output").fill_null("").str.strip_chars()
    asked = pl.col("instruction").fill_null("").str.contains(n["request"])
    short = (out.str.count_matches(r"\S+") <= int(n.get("max_words", 12))) & (out.str.len_chars() > 0)
    return (asked & short & ~out.str.contains("(?i)" + n["number"])).fill_null(False)


def under_length(cfg: dict) -> pl.Expr:
    """True where the instruction demands a length in words ("a 300-word essay", "at least 500
    words") and the answer holds under `ratio` of it (rules/score/quality.yaml)."""
    u = cfg.get("under_length")
    if not u:
        return pl.lit(False)
    ins = pl.col("instruction").fill_null("")
    request = numbers.fill(u["request"])
    n = numbers.value(pl.coalesce([ins.str.extract(request, k) for k in (1, 2, 3, 4)]))
    words = pl.col("output").fill_null("").str.count_matches(WORD_RE)
    return ((n >= int(u.get("min_words", 50))) & (words < float(u.get("ratio", 0.3)) * n)).fill_null(False)


def ends_on_heading(cfg: dict) -> pl.Expr:
    """True where a sectioned answer ends on a section heading of its own form with nothing
    under it ("**Step 3 of 5: Cut in the edges**" and then no step 3, 4 or 5)."""
    h = cfg.get("ends_on_heading")
    if not h:
        return pl.lit(False)
    o = pl.col("output").fill_null("")
    lines = _lines(o)
    heading = h["heading"]
    earlier = lines.list.head(lines.list.len() - 1).list.eval(pl.element().str.contains(heading)).list.sum()
    # (code's comments read as "#" headings: "# Output: 0 1 1 2"; headings between closed code
    # blocks are read, a "#" line inside an open block is code)
    fences = o.str.count_matches(r"(?m)^[ \t]*```")
    code = (o.str.contains(R.CODE_RE) & (fences == 0)) | (fences % 2 == 1)
    # (an answer of headings alone is a skeleton asked for, "Section headings only": a cut
    # leaves content under the headings before it)
    content = lines.list.len() - 1 - earlier
    return (lines.list.last().fill_null("").str.contains(heading) & (earlier >= int(h.get("min_headings", 1))) &
            (content >= 1) & (lines.list.len() >= int(h.get("min_lines", 3))) & ~code).fill_null(False)


def _fenced(tag: str) -> pl.Expr:
    """The body of the answer's first code block whose fence names `tag` (a regex), or null."""
    return pl.col("output").fill_null("").str.extract(rf"(?s)```{tag}[ \t]*\n(.*?)\n?[ \t]*```", 1)


def invalid_json_block(cfg: dict) -> pl.Expr:
    """True where a ```json block holds one object or array that does not parse."""
    j = cfg.get("invalid_json_block")
    if not j:
        return pl.lit(False)
    body = _fenced("json").str.strip_chars()
    shaped = body.str.contains(r"^[\[{]") & body.str.contains(r"[\]}]$") & ~body.str.contains(j["spare"])
    return (shaped & body.str.json_path_match("$").is_null()).fill_null(False)


def _yaml_breaks(body: str) -> bool:
    import yaml

    try:
        for _ in yaml.safe_load_all(body):
            pass
    except yaml.YAMLError:
        return True
    return False


def invalid_yaml_block(cfg: dict) -> pl.Expr:
    """True where a ```yaml block does not parse (an indentation slip, a tab, an unclosed quote);
    templated YAML (Helm's "{{ }}", Jinja's "{% %}") and blocks with "..." or "<slots>" are
    shapes, not documents, and are not read."""
    y = cfg.get("invalid_yaml_block")
    if not y:
        return pl.lit(False)
    body = _fenced("ya?ml")
    # (only the blocks read are parsed: map_elements skips the nulls)
    read = pl.when(~body.str.contains(y["spare"])).then(body)
    return read.map_elements(_yaml_breaks, return_dtype=pl.Boolean).fill_null(False)


def wrong_arithmetic(cfg: dict) -> pl.Expr:
    """True where an equation the answer writes out is wrong ("8 × 45 = 320";
    dataforge/score/arithmetic.py), unless the request is about finding such errors."""
    from dataforge.score.arithmetic import OPERATION, RESULT, wrong_equation

    w = cfg.get("wrong_arithmetic")
    if not w:
        return pl.lit(False)
    out = pl.col("output").fill_null("")
    # (only answers with a number, an operator, a number and an "=" are parsed, read with the
    # parser's own number, unit and operator patterns)
    read = pl.when(out.str.contains(OPERATION) & out.str.contains(RESULT) &
                   ~pl.col("instruction").fill_null("").str.contains(w["spare_request"])).then(out)
    spare = w.get("spare_line", "")
    return read.map_elements(lambda t: wrong_equation(t, spare) is not None, return_dtype=pl.Boolean).fill_null(False)


# the request-aware checks: (factor name, check, key of quality.yaml holding its `factor`)
_CHECKS = (
    ("capitalised_function_word", lambda c: pl.col("output").fill_null("").str.contains(
        c["capitalised_function_word"]["pattern"]), "capitalised_function_word"),
    ("dangling", dangling, "dangling"),
    ("unfinished_item", unfinished_item, "unfinished_item"),
    ("ends_on_heading", ends_on_heading, "ends_on_heading"),
    ("invalid_json_block", invalid_json_block, "invalid_json_block"),
    ("invalid_yaml_block", invalid_yaml_block, "invalid_yaml_block"),
    ("wrong_arithmetic", wrong_arithmetic, "wrong_arithmetic"),
    ("under_answered", under_answered, "under_answered"),
    ("announced_count", announced_short, "announced_count"),
    ("under_length", under_length, "under_length"),
    ("over_answered", over_answered, "over_answered"),
    ("number_missing", number_missing, "number_asked"),
    ("phantom_input", phantom_input, "phantom_input"),
    ("restated_request", restated.restated, "restated_request"),
    ("constraints", lambda c: constraints.broken(c.get("constraints") or {}), "constraints"),
)
# checks that read the request: a frame without an instruction asks for nothing
_READS_REQUEST = {"wrong_arithmetic", "under_answered", "under_length", "over_answered", "number_missing", "phantom_input",
                  "restated_request", "constraints"}


def factors(df: pl.DataFrame, cfg: dict | None = None) -> dict[str, pl.Series]:
    """Every factor of score_quality by name, per row (1.0 where its check does not fire)."""
    c = cfg or load_yaml(H.QUALITY)
    if "input" not in df.columns:  # (the refusal check reads the input's own apologies)
        df = df.with_columns(pl.lit("").alias("input"))
    exprs = dict(H.quality_parts(c))
    for name, check, key in _CHECKS:
        if not c.get(key) or (name in _READS_REQUEST and "instruction" not in df.columns):
            continue
        exprs[name] = pl.when(check(c)).then(float(c[key].get("factor", 1.0))).otherwise(1.0)
    exprs["no_end_mark"] = no_end_mark(c)
    out = dict(zip(exprs, df.select([e.cast(pl.Float64).alias(n) for n, e in exprs.items()]).get_columns()))
    fu = c.get("final_unsupported") or {}
    out["final_unsupported"] = pl.select(pl.when(pl.lit(final_answer.unsupported(df, c)))
                                         .then(float(fu.get("factor", 1.0))).otherwise(1.0).alias("f"))["f"]
    rc = c.get("refusal") or {}
    if rc.get("spared_as") and "refusal" in out:  # what spares the filter rule spares the factor
        mask = R.spared(H.spared_as(rc), df, out["refusal"] < 1.0)
        if mask is not None:
            out["refusal"] = pl.select(pl.when(pl.lit(mask)).then(1.0).otherwise(pl.lit(out["refusal"])).alias("f"))["f"]
    out["garble"] = garble_factor(df, c)
    out["filler"] = filler_factor(df, c)
    det = (c.get("detectors") or {}).get("factors") or {}
    for name, hit in detector_hits(df, c).items():
        out["rule:" + name] = pl.select(pl.when(pl.lit(hit)).then(float(det[name])).otherwise(1.0).alias("f"))["f"]
    return out


def quality(df: pl.DataFrame, cfg: dict | None = None) -> pl.Series:
    q = pl.Series([1.0] * df.height, dtype=pl.Float64)
    for f in factors(df, cfg).values():
        q = q * f
    return q.clip(0.0, 1.0).alias("score_quality")


def explain(df: pl.DataFrame, cfg: dict | None = None) -> list[dict[str, float]]:
    """Per row, the factors under 1.0 that made its score (for `dataforge explain` and tests)."""
    fs = factors(df, cfg)
    return [{n: round(v[i], 4) for n, v in ((n, s.to_list()) for n, s in fs.items()) if v[i] < 1.0}
            for i in range(df.height)]
