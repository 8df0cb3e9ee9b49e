"""Rule filters as data: each rule in a rules/filters/*.yaml file is a named reason.

A rules file is `{rules: [{name, type, ...params}]}`. `type` picks a builder below; the
builder returns, per row, "NAME: detail" when the rule fires and null otherwise.
Rules are checked in file order and a row reports the first rule that fires.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import polars as pl

from dataforge.clean import repetition
from dataforge.clean.partial_word import ends_inside_a_word
from dataforge.errors import ConfigError, MissingResourceError
from dataforge.paths import RULES
from dataforge.rulefiles import parse_yaml
from dataforge.words import INLINE_ENUM_RE, KISSES_RE, SHINGLE_TOKEN_RE, WORD_RE, mostly_latin

RULES_DIR = RULES / "filters"
URL_OR_EMAIL = r"(?i)(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+"


@dataclass
class Rule:
    name: str
    type: str
    params: dict
    source: str = ""  # the rules file it came from, for error messages

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def fields(self, default: list[str]) -> list[str]:
        f = self.params.get("fields", self.params.get("field", default))
        return [f] if isinstance(f, str) else list(f)


def resolve(name_or_path: str) -> Path:
    p = Path(name_or_path)
    for cand in (p, RULES_DIR / p, RULES_DIR / f"{name_or_path}.yaml"):
        if cand.is_file():
            return cand
    raise MissingResourceError(f"rules file not found: {name_or_path} (looked in . and {RULES_DIR})")


def pattern_file(name_or_path: str) -> tuple[str, str]:
    """A rules file of regexes, one a line (`#` comments): its text (for digests) and the
    patterns as one alternation. A bad pattern is a ConfigError naming the file."""
    path = resolve(name_or_path)
    content = path.read_text(encoding="utf-8")
    pats = [w.strip() for w in content.splitlines() if w.strip() and not w.lstrip().startswith("#")]
    for q in pats:
        try:
            re.compile(q)
        except re.error as e:
            raise ConfigError(f"{path}: bad pattern {q!r}: {e}") from None
    return content, "|".join(f"(?:{q})" for q in pats)


# resolved path -> (text of the YAML, stats of the files it names, rules, digest)
_LOADED: dict[str, tuple[str, tuple, list[Rule], str]] = {}


def _stat(p: Path) -> tuple:
    st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size, st.st_ino


def load(name_or_path: str) -> tuple[list[Rule], str]:
    """Rules of a file and a digest of everything it reads (for checkpoint keys).

    Parsing costs ~35 ms and scorers ask for the same file several times a batch, so a
    parse is kept while the YAML's text and the stats of the files it names are unchanged;
    callers get fresh copies they may change."""
    path = resolve(name_or_path)
    text = path.read_text(encoding="utf-8")
    key = str(path.resolve())
    hit = _LOADED.get(key)
    if hit is not None and hit[0] == text:
        try:
            fresh = all(_stat(Path(s[0])) == s for s in hit[1])
        except OSError:
            fresh = False
        if fresh:
            return copy.deepcopy(hit[2]), hit[3]
    rules, digest, read = _parse(path, text)
    _LOADED[key] = (text, tuple(_stat(f.resolve()) for f in read), rules, digest)
    return copy.deepcopy(rules), digest


def _parse(path: Path, text: str) -> tuple[list[Rule], str, list[Path]]:
    doc = parse_yaml(text, str(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise ConfigError(f"{path}: expected a mapping with a `rules:` list")
    rules, h, read = [], hashlib.sha256(text.encode()), []
    for i, r in enumerate(doc["rules"]):
        if not isinstance(r, dict) or "name" not in r or "type" not in r:
            raise ConfigError(f"{path}: rule {i + 1} needs `name` and `type`")
        if r["type"] not in BUILDERS:
            raise ConfigError(f"{path}: rule '{r['name']}' has unknown type '{r['type']}'; "
                              f"types: {sorted(BUILDERS)}")
        params = {k: v for k, v in r.items() if k not in ("name", "type", "description")}
        if "file" in params:  # word / phrase lists kept in their own text file
            words_path = resolve(params["file"]) if not Path(params["file"]).is_absolute() else Path(params["file"])
            content = words_path.read_text(encoding="utf-8")
            read.append(words_path)
            h.update(content.encode())
            params["words"] = _list_lines(content)
        # `PARAM_wordlist`: word lists (a file or several, one word a line, `#` comments; a
        # `.tsv.gz` synonym table gives its lemmas and synonyms) as the tuple PARAM
        for key in sorted(k for k in params if k.endswith("_wordlist")):
            files = params.pop(key)
            words: list[str] = []
            for name in [files] if isinstance(files, str) else files:
                wpath = resolve(name)
                content = _read_wordlist(wpath)
                read.append(wpath)
                h.update(content.encode())
                words += _wordlist_words(content, wpath)
            params[key.removesuffix("_wordlist")] = WordList(words)
        # `PARAM_file`: regexes, one a line, added to the regex PARAM (`unless_instruction_file`
        # spares a row as unless_instruction does; `unless_input_file`, `decline_instruction_file`,
        # `task_refusal_file`, ... the same for theirs): long lists in other languages live there
        for key in sorted(k for k in params if k.endswith("_file") and k != "file"):
            base = key.removesuffix("_file")
            content, joined = pattern_file(params[key])
            read.append(resolve(params[key]))
            h.update(content.encode())
            params[base] = "|".join(x for x in (params.get(base), joined) if x)
        rules.append(Rule(str(r["name"]), str(r["type"]), params, str(path)))
    return rules, h.hexdigest(), read


def _col(f: str) -> pl.Expr:
    return pl.col(f).cast(pl.Utf8).fill_null("")


def _first(exprs: list[pl.Expr]) -> pl.Expr:
    return pl.coalesce(exprs) if len(exprs) > 1 else exprs[0]


def _fmt(rule: Rule, template: str, *args: pl.Expr) -> pl.Expr:
    """"NAME: template" with each {} replaced by an expression (literal braces allowed)."""
    pieces = f"{rule.name}: {template}".split("{}")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for arg, piece in zip(args, pieces[1:]):
        parts += [arg.cast(pl.Utf8), pl.lit(piece)]
    return pl.concat_str(parts)


# -- builders: Rule, DataFrame -> Expr or Series of reason strings -----------------------

def b_length(rule: Rule, df: pl.DataFrame):
    unit = rule.get("unit", "chars")
    if unit not in ("chars", "words"):
        raise ConfigError(f"rule '{rule.name}': unit must be chars or words")
    out = []
    for f in rule.fields(["output"]):
        n = _col(f).str.len_chars() if unit == "chars" else _col(f).str.count_matches(WORD_RE)
        e = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.Utf8))
        if rule.get("min") is not None:
            e = e.when(n < rule.get("min")).then(_fmt(rule, f"{f} has {{}} {unit} < {rule.get('min')}", n))
        if rule.get("max") is not None:
            e = e.when(n > rule.get("max")).then(_fmt(rule, f"{f} has {{}} {unit} > {rule.get('max')}", n))
        out.append(e.otherwise(None))
    return _first(out)


def b_empty(rule: Rule, df: pl.DataFrame):
    """Empty: nothing but blanks, NULs and invisible format characters (zero-width space and
    joiners, word joiner, BOM)."""
    blank = r"^[\s\x00\x{200B}-\x{200D}\x{2060}\x{FEFF}]*$"
    return _first([pl.when(_col(f).str.contains(blank)).then(pl.lit(f"{rule.name}: {f} is empty"))
                   for f in rule.fields(["output"])])


def b_same_text(rule: Rule, df: pl.DataFrame):
    a, b = rule.fields(["instruction", "output"])[:2]
    norm = lambda e: e.str.to_lowercase().str.replace_all(r"[\W_]+", " ").str.strip_chars()  # noqa: E731
    na = norm(_col(a))
    # `lead_in`: an opening line of the second text that says what follows ("Here is the
    # corrected version:") is no change
    tb = _col(b).str.replace(rule.get("lead_in"), "") if rule.get("lead_in") else _col(b)
    nb = norm(tb)
    # `min_words`: only texts this long ("Berlin" may translate to "Berlin")
    long = na.str.count_matches(WORD_RE) >= rule.get("min_words", 1)
    same = na == nb
    if rule.get("exact_when") and "instruction" in df.columns:
        # a request about punctuation or case: adding commas or capitals is the change asked for
        ws = lambda e: e.str.replace_all(r"\s+", " ").str.strip_chars()  # noqa: E731
        exact = ws(_col(a)) == ws(tb)
        same = pl.when(_col("instruction").str.contains("(?i)" + rule.get("exact_when"))).then(exact).otherwise(same)
    return pl.when(same & (na != "") & long).then(pl.lit(f"{rule.name}: {b} repeats {a}"))


def b_mojibake(rule: Rule, df: pl.DataFrame):
    """UTF-8 read as Windows-1252 ("cafÃ©", "donâ€™t"): dataforge/clean/encoding.py. `normalize`
    repairs it; this catches what was not repaired (or rows that skipped normalize), and the
    characters of `also` (a regex: the replacement character U+FFFD in the default rules)."""
    from dataforge.clean.encoding import SUSPECT
    pat = SUSPECT + (f"|{rule.get('also')}" if rule.get("also") else "")
    return _first([pl.when(_col(f).str.contains(pat)).then(
        _fmt(rule, f"{f} has mis-decoded characters: '{{}}'", _col(f).str.extract(f"(\\S*(?:{pat})\\S*)", 1)
             .str.slice(0, 40)))
        for f in rule.fields(["instruction", "input", "output"])])


def b_slots(rule: Rule, df: pl.DataFrame):
    """An answer made mostly of unfilled template slots ("Dear <RECIPIENT_NAME>, <BODY_TEXT>"):
    at least `min_slots` slots and at most `max_words_per_slot` other words per slot, or at
    least `template_slots` and at most `template_words_per_slot` words per slot."""
    f = rule.fields(["output"])[0]
    # <RECIPIENT_NAME> <Your Name> (never an HTML tag: no underscore or space in a tag's name),
    # [Company Name] [Date], {{name}} {first_name} (not LaTeX's \frac{d}{dx})
    slot = rule.get("slot", r"<[A-Z][A-Za-z]*(?:[_ ][A-Za-z]+)+>|\[[A-Z][^\]\n]{1,40}\]|\{\{\s*[\w .]{1,40}\}\}"
                            r"|\{[A-Za-z]+(?:[_ ][A-Za-z]+)+\}")
    t = _col(f).str.replace_all(r"\[[^\]\n]*\]\([^)\n]*\)", " LINK ")  # markdown links are text
    n_slots = t.str.count_matches(slot)
    rest = t.str.replace_all(slot, " ").str.count_matches(r"\p{L}[\p{L}'-]*")
    # ... or a longer text with a slot every few words ("interest in the [Position Title] role at
    # [Company Name]. With [X years] of experience in [Your Field] ..."): a template, not a
    # letter that leaves its signature open
    tiers = [(rule.get("min_slots", 2), rule.get("max_words_per_slot", 2)),
             (rule.get("template_slots", 10**6), rule.get("template_words_per_slot", 0))]
    # ... or machine-template variables, which no finished prose holds ("Dear <CUSTOMER_NAME>",
    # "on <REFUND_DATE>", "Hi {customer_name}"): `variable_slots` of them, at any density
    # (snake case: "<PID>" in a shell hint and LaTeX's "{dx}" are no such variables)
    # ... and distinct capitalised words or phrases in brackets where a sentence needs them ("side
    # effects include [LIST COMMON SIDE EFFECTS]", "signed in [YEAR]"; a script's "[MUSIC FADES]"
    # opens a line, and one "[PRODUCT NAME]" the request never gave may stand for it throughout)
    # (`variables`, a regex of the rules file; mustache / Jinja "{{name}}" and masks such as
    # "$XX.XX" there too. A variable in `code spans` is one named, not one left open)
    var_re = rule.get("variables", r"<[A-Z]+(?:_[A-Z0-9]+)+>|\{[a-z]+(?:_[a-z0-9]+)+\}")
    variables = t.str.replace_all(r"`[^`\n]*`", " ").str.count_matches(var_re) + \
        t.str.extract_all(r"\p{Ll}[,:]?[ \t]+\[[A-Z]{2,}(?:[ _][A-Z]{2,})*\]").list.eval(
            pl.element().str.extract(r"(\[.*)$", 1)).list.n_unique()
    # code: {x} and [i] are its syntax (a line that ends on a slot, "Kind regards,\n{{agent_name}}",
    # ends on no brace of code)
    code = _col(f).str.replace_all(slot, "SLOT").str.replace_all(var_re, " SLOT") \
        .str.contains(r"(?m)^(\t| {2,})\S|```|[{};]\s*$")
    fires = (pl.any_horizontal([(n_slots >= k) & (rest <= w * n_slots) for k, w in tiers]) |
             (variables >= rule.get("variable_slots", 10**6))) & ~code
    return pl.when(fires).then(_fmt(rule, f"{f} is unfilled slots: '{{}}'",
                                    _col(f).str.replace_all(r"\s+", " ").str.slice(0, 40)))


def b_phrases(rule: Rule, df: pl.DataFrame):
    phrases = [p.lower().replace("’", "'") for p in (rule.get("phrases") or []) + (rule.get("words") or [])]
    if not phrases:
        raise ConfigError(f"rule '{rule.name}': needs `phrases` or `file`")
    out = []
    for f in rule.fields(["output"]):
        t = _col(f)
        if rule.get("speech"):  # quoted speech and dialogue lines: a character speaks there (b_refusal)
            t = t.str.replace_all(rule.get("speech"), " ")
        t = t.str.replace_all("[’‘]", "'")
        hit = t.str.contains_any(phrases, ascii_case_insensitive=True)
        found = t.str.extract_many(phrases, ascii_case_insensitive=True).list.eval(pl.element().str.to_lowercase())
        if rule.get("lines"):  # (`lines_file`: regexes that count only as a whole line, "Advertisement")
            on_line = t.str.extract_all("(?im)^[ \t>*#_|-]*(?:" + rule.get("lines") + r")[ \t:.!?]*$").list.eval(
                pl.element().str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars())
            hit = hit | (on_line.list.len() > 0)
            found = pl.concat_list([found, on_line])
        if rule.get("min_distinct", 1) > 1:  # several different phrases: a page's chrome, not a mention
            hit = hit & (found.list.n_unique() >= rule.get("min_distinct"))
        if rule.get("alone_lines"):  # (`alone_lines_file`: whole lines that count alone, an ad slot)
            alone = t.str.extract("(?im)^[ \t>*#_|-]*(" + rule.get("alone_lines") + r")[ \t:.!?]*$", 1).str.to_lowercase()
            hit = hit | alone.is_not_null()
            found = pl.when(alone.is_not_null()).then(pl.concat_list([alone, found])).otherwise(found)
        which = found.list.first()
        out.append(pl.when(hit).then(_fmt(rule, f"{f} contains '{{}}'", which)))
    return _first(out)


def b_regex(rule: Rule, df: pl.DataFrame):
    # inline `patterns`, or one regex per line of a `file`
    pats = rule.get("patterns") or ([rule.get("pattern")] if rule.get("pattern") else []) or rule.get("words") or []
    if not pats:
        raise ConfigError(f"rule '{rule.name}': needs `patterns` or `file`")
    flags = "(?i)" if rule.get("case_insensitive", True) else ""
    try:
        for p in pats:
            re.compile(p)
    except re.error as e:
        raise ConfigError(f"rule '{rule.name}': bad pattern: {e}") from None
    # one search per pattern: each keeps its literal prefilter, where one alternation of
    # them all with word boundaries falls back to a slow engine (10x here)
    if rule.get("max_words"):  # only short texts: a stub is all there is, not a part of long code
        short = lambda f: _col(f).str.count_matches(WORD_RE) <= rule.get("max_words")  # noqa: E731
    else:
        short = lambda f: pl.lit(True)  # noqa: E731
    return _first([pl.when(short(f) & pl.any_horizontal([_col(f).str.contains(flags + p) for p in pats])).then(
        _fmt(rule, f"{f} matches '{{}}'", pl.coalesce([_col(f).str.extract(f"{flags}({p})", 1) for p in pats])
             .str.replace_all(r"\s+", " ").str.strip_chars().str.slice(0, 40)))
        for f in rule.fields(["instruction", "input", "output"])])


def b_blocklist(rule: Rule, df: pl.DataFrame):
    words = rule.get("words") or []
    if not words:
        raise ConfigError(f"rule '{rule.name}': needs `words` or `file`")
    pat = r"(?i)\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b"
    return _first([pl.when(_col(f).str.contains(pat)).then(
        _fmt(rule, f"{f} contains blocked word '{{}}'", _col(f).str.extract(f"({pat})", 1).str.to_lowercase()))
        for f in rule.fields(["instruction", "input", "output"])])


# indented lines, fences, or lines ending in braces/semicolons or opening comments: code, not prose
# ("#" only before a non-blank: "#include", "#!/bin/bash"; "## Steps" is a markdown heading)
# (a line ending in ";" is code only with a mark of code on it, "x = f(1);", "i++;", "break;":
# verse and prose end lines on semicolons too, "The ocean breathes in long and patient sighs;")
CODE_RE = (r"(?m)^(\t| {2,})\S|```|[{}]\s*$|[=()\[\]<>+][^\n]*;\s*$|^\s*\w+;\s*$|^\s*(//|#[^#\s]|/\*)|^\s*</?[a-zA-Z][\w-]*[^>]*>\s*$|"
           # an SQL statement (upper-case keywords), which needs no final semicolon
           r"^\s*(?:SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE (?:TABLE|VIEW|INDEX)|WITH)\b[^\n]*\b(?:FROM|VALUES|SET|AS|WHERE|ON)\b")
TABLE_RE = r"(?m)^\s*\|.*\|\s*$|^[^\n]*\t[^\n]*\t|^\s*\+[-+]+\+\s*$"


def code_or_table(t: pl.Expr) -> pl.Expr:
    """Code, or a table (pipes, tabs, box rules, or two rows of a table without outer pipes):
    text whose lines need not end as sentences do."""
    return t.str.contains(CODE_RE) | t.str.contains(TABLE_RE) | \
        (t.str.count_matches(r"(?m)^[^\n]*\|[^\n]*\|") >= 2)


def prose_after_code(t: pl.Expr) -> pl.Expr:
    """Prose after the last closed code block ("```\n\nThe loop starts at index"): the answer's
    last words are prose again, so a dangling word or an open sum there is a cut."""
    after_fence = t.str.split("```").list.last()
    fences = t.str.count_matches("```")
    return (fences >= 2) & (fences % 2 == 0) & (after_fence.str.count_matches(WORD_RE) >= 3) & \
        ~after_fence.str.contains(CODE_RE)


def _context(df: pl.DataFrame, name: str) -> pl.Expr:
    """A column the rule reads for context (instruction, task); "" when the batch lacks it."""
    return _col(name) if name in df.columns else pl.lit("")


def symbol_line(line: pl.Expr) -> pl.Expr:
    """A line of symbols rather than words (an alphabet, notes, a number or code sequence, Morse):
    three or more tokens, fewer than half of them holding a run of two letters (not "N/A"), so
    it is no sentence left unended and
    its last "word" dangles nothing ("... C B A"). LaTeX is not: a formula cut before its
    closing "$" or brace is a cut."""
    tokens = line.str.count_matches(r"\S+")
    return (tokens >= 3) & (line.str.count_matches(r"\S*\p{L}{2}\S*") < 0.5 * tokens) & \
        ~line.str.contains(r"\\\p{L}|\$")


def inline_enumeration(line: pl.Expr) -> pl.Expr:
    """Three or more short numbered items on one line, under an optional label: an answer key
    ("**Answer key:** 1. went 2. wrote 3. ate"), words rather than a sentence left unended."""
    return line.str.contains(INLINE_ENUM_RE)


# the marks a finished line may end on (`truncated`, and score_quality's `no_end_mark` reads the
# same): sentence ends, closing quotes and brackets, a colon before what follows, "|" and ">"
# of a table or quote, with the end-of-proof marks ("... for all n ≥ 1. ∎"), the full-width
# marks of Chinese and Japanese ("（円）", "。", "」"), the closing quotes of German and Danish
# („Test“, ‚so‘, »Ende«) and the ends of Arabic, Urdu, Hindi, Burmese and Ethiopic sentences
END_CHARS = ".!?…\"'”’“‘«)]}>*`:;|∎□■。！？）」』】〕．：؟۔।॥။።፧｡‼⁉»"

# one label of a row of labels: up to eight words ("© 2024 Harlow & Finch LLP"), no separator
# or sentence mark inside
# (a comma inside an address: "14 Quay Street, Portsmouth")
_LABEL = r"[^\s|·•›»,.!?;:]+(?:,?\s+[^\s|·•›»,.!?;:]+){0,7}"
# (separated by a mark, or by a run of spaces: "Home   Search   Library"; under an optional
# "Share:" label)
LABEL_ROW_RE = rf"^(?:[\w ]{{1,20}}[:：]\s+)?{_LABEL}(?:(?:\s+[|·•›»]\s+|[ ]{{2,}}|\t+){_LABEL})+$"


def foreign_tail(line: pl.Expr) -> pl.Expr:
    """A mostly Latin line whose last word is in another script (a Chinese idiom or a Russian
    closing quoted at the end of an English sentence)."""
    tail = line.str.extract(r"(\p{L}[\p{L}\p{M}]*)\W*$", 1).fill_null("")
    return mostly_latin(line) & (tail != "") & ~mostly_latin(tail)


def label_row(line: pl.Expr) -> pl.Expr:
    """Short labels joined by separators: a row of buttons or links, a menu, a breadcrumb trail
    ("Accept all | Reject non-essential | Manage preferences", "Home › Products › Shoes",
    "Terms · Privacy · Help"): UI text asked for, no sentence left unended."""
    return line.str.contains(LABEL_ROW_RE)


def b_truncated(rule: Rule, df: pl.DataFrame):
    """Ends mid-sentence. The last line of a long enough text has no ending mark and either
    ends on a word that cannot end a sentence (a determiner, preposition, conjunction, ...),
    or is prose among earlier lines that mostly do end properly. Left alone: code, tables,
    "Key: value" lines (menus, the tool's own CoT "So the answer is: X"), quote attributions,
    lyrics and lists whose lines carry no marks, and texts the instruction or task asks to be
    short and unpunctuated (summaries, titles, labels: `no_end_tasks`, `no_end_instruction`)."""
    f = rule.fields(["output"])[0]
    end_re = f"[{re.escape(rule.get('end_chars') or END_CHARS)}]\\s*$"
    # the parts every test below reads, computed once (eager expressions are not shared)
    lines_e = pl.col("__t").str.split("\n").list.eval(pl.element().filter(pl.element().str.strip_chars() != ""))
    df = df.with_columns(_col(f).str.strip_chars().alias("__t")).with_columns(lines_e.alias("__lines"))
    df = df.with_columns(pl.col("__lines").list.last().fill_null("").str.strip_chars().alias("__last"),
                         pl.col("__lines").list.head(pl.col("__lines").list.len() - 1).alias("__earlier"))
    df = df.with_columns(pl.col("__earlier").list.last().fill_null("").str.strip_chars().alias("__prev"),
                         sibling_items(pl.col("__last"), pl.col("__earlier")).alias("__sib"),
                         pl.col("__t").str.count_matches(WORD_RE).alias("__n"))
    t, lines, last, earlier = pl.col("__t"), pl.col("__lines"), pl.col("__last"), pl.col("__earlier")
    prev_line, sib, n_words = pl.col("__prev"), pl.col("__sib"), pl.col("__n")
    ok_frac = earlier.list.eval(pl.element().str.contains(end_re)).list.mean().fill_null(1.0)
    # a last token that is itself an ending: a number or result ("in 1813", "= 391"), a link,
    # a hashtag, an emoji, closing math ("$\\boxed{4}$"), the end of a proof ("QED")
    ends_ok = last.str.contains(end_re) | last.str.contains(rule.get("final_token", FINAL_TOKEN_RE))
    # a time or date closes a sentence as a number does ("Back to normal on Monday", "by 30 May",
    # "The link expires after one hour"): a message's last line often drops its period there
    if rule.get("time_token"):
        ends_ok = ends_ok | last.str.contains("(?i)" + rule.get("time_token"))
    # ... and so does a quantity with its unit ("specify 5–6 N·m", "Total ≈ 225 kcal")
    if rule.get("unit_token"):
        ends_ok = ends_ok | last.str.contains(rule.get("unit_token"))
    # a line that ends on words in another script than its own ("A close cousin with the same
    # message is 铁杵磨成针", "put this above your name: С любовью"): a name or a quotation that
    # brings its own ending, no English sentence left open
    ends_ok = ends_ok | foreign_tail(last)
    last_word = last.str.extract(LAST_WORD_RE, 1).str.to_lowercase()
    # a closing ("Sincerely,") or a name signed under a short line that ends in a comma
    # ("Looking forward to it,\nMaria")
    # ... or under a closing that ends in "!" or "." ("Thanks for understanding!\nLeo"; `SIGN_OFF`),
    # or any short cheer ("Go Hawks!\nCoach Lin", "Can't wait!\nBea & Chris")
    # (a name, and after a comma its role: "Renée, Customer Support")
    signer = last.str.contains(r"^\p{Lu}[\w.'-]*(?: (?:\p{Lu}[\w.'-]*|&))*(?:, \p{Lu}[\w.'-]*(?: (?:\p{Lu}[\w.'-]*|&|of|the))*)?$") & \
        (last.str.count_matches(r"\S+") <= 5)
    valediction = last.str.contains(VALEDICTION) | last.str.contains(KISSES) | \
        (prev_line.str.contains(r"^\S+(?:\s+\S+){0,7},$") & signer) | \
        ((prev_line.str.contains(SIGN_OFF) | (prev_line.str.contains(r"!$") &
                                               (prev_line.str.count_matches(r"\S+") <= 5))) & signer)
    # ... or under a closing in Chinese, Japanese or Korean ("今後ともどうぞよろしくお願い申し上げます。
    # \n\nカスタマーサポート担当"): a short line without sentence marks (`cjk_closing`)
    if rule.get("cjk_closing"):
        valediction = valediction | (prev_line.str.contains(rule.get("cjk_closing")) &
                                     (last.str.len_chars() <= 20) & ~last.str.contains(r"[。、，,.!?！？]"))
    # a signature block: a closing on one of the two lines before ("Kind regards,\n[Agent
    # Name]\n[Company Name] Customer Support")
    signed = earlier.list.tail(2).list.eval(pl.element().str.strip_chars().str.contains(VALEDICTION)).list.any() \
        .fill_null(False)
    # ... or under any short closing that ends in a comma ("Welcome aboard,\n[Your Name]\nPebble
    # Notes Customer Team"): one or two short name lines after it
    # (a name line is a name, a team or a slot: every word capitalised, "[Your Name]", "of",
    # "&"; not a verse line such as "My worries drift away")
    name_line = r"^(?:\[[^\]]+\]|\p{Lu}[\w.'&-]*)(?:\s+(?:\[[^\]]+\]|\p{Lu}[\w.'&-]*|&|of|and|the|for))*$"
    closing = r"^\S+(?:\s+\S+){0,5},$"
    before_prev = earlier.list.get(-2, null_on_oob=True).fill_null("").str.strip_chars()
    signed = signed | (last.str.contains(name_line) & (last.str.count_matches(r"\S+") <= 5) &
                       (prev_line.str.contains(closing) |
                        (prev_line.str.contains(name_line) & (prev_line.str.count_matches(r"\S+") <= 5) &
                         before_prev.str.contains(closing))))
    dw = rule.get("words") or dangling_words()
    # (a capital letter that an enumerator or a label word leads to is a label, not the article:
    # an answer key's "7. A", "the answer is A", "vitamin A"; `letter_label`)
    label = last.str.contains(rule.get("letter_label")) if rule.get("letter_label") else pl.lit(False)
    # ... or on a conjunction and its subject with no verb after them ("... in fury when it",
    # "... because they"; `dangling_pair`)
    dw_pair = last.str.contains(rule.get("dangling_pair")) & ~ends_ok if rule.get("dangling_pair") else pl.lit(False)
    pronoun = last.str.contains(PRONOUN_END)
    dangling = dw_pair | (last_word.is_in(dw) & ~ends_ok & ~word_endings_are_form(earlier, dw) & ~label & ~pronoun) | \
        (last.str.contains(r"[,–—(-]$") & ~valediction)
    # a sum left open, in prose or a line of symbols: "Total = 125 + 175 =", "So Tom has 3 ×"
    open_sum = last.str.contains(r"\s[=+×÷*/^−]$")
    # a number cut inside its digits: a last group of thousands short of three ("= 1,048,5");
    # a number ends a sentence, but not this one (Indian lakhs end on three digits too: 1,00,000)
    # ... or a sum of money in dollars, pounds or yen that stops a digit or two after its first
    # comma ("comes to about $1,4"; a euro amount may use a decimal comma: "€1,4")
    cut_number = last.str.contains(r"(?:^|[\s(=\p{Sc}])\d{1,3}(?:,\d{3})+,\d{1,2}$") | \
        last.str.contains(r"(?:^|[\s(])[$£¥]\d{1,3},\d{1,2}$")
    # (not any number so cut in an English sentence: "the rainfall was 3,5" may be a decimal
    # comma, and "the Moon is about 384,4" reads the same)
    # code whose last line stops on what must be followed: an SQL clause's keyword, an operator,
    # a pipe or a line continuation ("GROUP BY", "total = price +", "cat log.txt |"; `code_open_end`)
    code_open = last.str.contains(rule.get("code_open_end")) if rule.get("code_open_end") else pl.lit(False)
    # a sentence end inside the text: it is prose, so its last sentence should end too
    inner_end = t.str.contains(r"[.!?]\s+\S")
    # (a full-width colon too: "答え：840円")
    key_value = last.str.contains(r"^\W{0,3}[\w ()/'&;-]{1,40}[:：]\s*\S")  # (";": "TL;DR: heat pump")
    value = last.str.replace(r"^[^:：]*[:：]", "")
    value_prose = value.str.contains(r"[.!?]\s+\S")
    answer_line = last.str.contains(r"(?i)^(so )?(the )?(final )?answer( is)?\s*:") & ~value_prose  # dataforge's CoT
    structured = ((key_value & ~value_prose & ((value.str.count_matches(r"\S+") <= rule.get("max_value_words", 3)) |
                                               (last.str.count_matches(":") >= 2) |
                                               (ok_frac < rule.get("min_ended_lines", 0.5)))) |
                  answer_line |
                  last.str.contains(r"^\s*[A-Ha-h][.)]\s") |  # an answer option "D. By running ..."
                  valediction | signed |  # a signature under "Sincerely," (a line or two: name, team)
                  ((t.str.count_matches(r"(?:^|\s)\d+[.)]\s") >= 3) & (lines.list.len() == 1)) |  # an inline numbered list
                  last.str.contains(r"^\s*[-–—~]+\s*[A-Z]") |  # - Author (a quote's attribution)
                  last.str.contains(QUOTE_ATTRIBUTION_RE) |  # "..." - Author
                  last.str.contains(r"^\s*([-*•#]|\d+[.)])\s") & (ok_frac < rule.get("min_ended_lines", 0.5)))
    # an inline list of short items ("bat, hat, mat, rat, sat"): words, not a sentence
    item = r"[^\s,.!?;:]+(?:\s+[^\s,.!?;:]+){0,2}"  # one to three words, no sentence mark
    inline_list = last.str.contains(
        rf"^{item}(?:\s*,\s*{item}){{{max(1, int(rule.get('inline_list_items', 4)) - 1)},}}$")
    structured = structured | inline_list
    # ... or numbered inline, under an optional label ("**Answer key:** 1. went 2. wrote 3. ate")
    structured = structured | inline_enumeration(last)
    symbols = symbol_line(last)
    # a short paragraph shown under a lead-in that ends in a colon, a blank line between
    # ("The last line in Dante's Italian:\n\nLasciate ogne speranza, voi ch'intrate", "Run:\n\n
    # ls -la"): a displayed item (a quotation, a title, a command), not a sentence of the prose
    # (a line right under its lead-in continues it: "Solve:\nx + y", "Chorus:\nI" are cuts)
    displayed = prev_line.str.contains(r"[:：]$") & t.str.contains(r"[:：][ \t]*\n[ \t]*\n[^\n]+$") & \
        (last.str.count_matches(WORD_RE) <= rule.get("display_words", 8)) & ~last.str.contains(r"[.!?]\s+\S")
    # ... or notes under a summary's label ("TL;DR: shorter week, same revenue"; `summary_line`)
    summary = last.str.contains(rule.get("summary_line")) if rule.get("summary_line") else pl.lit(False)
    structured = structured | symbols | label_row(last) | displayed | summary
    code = code_or_table(t)
    prose_tail = prose_after_code(t)
    # a comment that stops on a word no sentence ends on ("# Compare the features to a")
    comment_cut = last.str.contains(r"^\s*(?:#|//|--)\s*\p{L}") & last_word.is_in(dw)
    asked_short = pl.lit(False)
    label_task = _context(df, "task").is_in(rule.get("no_end_tasks") or [])
    if rule.get("no_end_tasks"):
        asked_short = asked_short | label_task
    if rule.get("no_end_instruction"):
        asked_short = asked_short | _context(df, "instruction").str.contains("(?i)" + rule.get("no_end_instruction"))
    # ... as long as the answer is one unpunctuated phrase (a label, a span, a TL;DR, a title)
    asked_short = asked_short & (lines.list.len() == 1) & \
        (~inner_end | ((n_words <= rule.get("short_answer_words", 0)) &  # or a label with a short reason
                       _context(df, "task").is_in(rule.get("reason_tasks") or []) &
                       # (one unended reason after the label; more ended sentences make it prose)
                       (t.str.count_matches(r"[a-z]{2}[.!?]\s+\S") < rule.get("reason_max_sentences", 99))))
    # a lone last word counts only after a prose sentence (not a flow chart's "End" under "|")
    # (a line of five Chinese or Japanese characters or more is no lone word either; a shorter one
    # may be a name signed under a letter: "田中")
    lone_ok = (last.str.count_matches(r"\S+") > 1) | (last.str.count_matches(WORD_RE) >= 5) | \
        (prev_line.str.contains(r"[a-z]{2}\W{0,2}[.!?][\"')\]]?$") & (prev_line.str.count_matches(r"\S+") >= 3))
    long_ = (n_words >= rule.get("min_words", 10)) & lone_ok & \
        (last.str.count_matches(WORD_RE) >= rule.get("min_last_line_words", 3))
    # a last line that is a list item is judged against its sibling items, not every line:
    # items may legitimately end without a mark, so only a short unended item among ended
    # siblings reads as cut (a late cut inside an item is invisible to rules)
    is_item = last.str.contains(ITEM_RE)
    sib_ok = sib.list.eval(pl.element().str.contains(end_re)).list.mean()
    sib_med = sib.list.eval(pl.element().str.count_matches(r"\S+")).list.median()
    item_cut = (sib.list.len() >= 2) & (sib_ok >= rule.get("min_ended_lines", 0.5)) & \
        (last.str.count_matches(r"\S+") < rule.get("item_ratio", 0.67) * sib_med)
    # a sentence ended earlier on the last line itself: that line is prose whatever the others do
    # (list items are left to the sibling test: a last item without its period is common)
    # (not for label tasks: e-SNLI's "No. The boy can not be ..." reasons carry no final mark)
    line_prose = last.str.contains(r"[a-z]{2}[.!?]\s+[A-Z]") & ~label_task
    prose = ((~is_item & (ok_frac >= rule.get("min_ended_lines", 0.5)) & ~structured) |
             (is_item & item_cut.fill_null(False)) | (~is_item & line_prose) |
             # an item that ends sentences and then stops, among siblings that (nearly) all end
             # (one sibling is enough: "1. ... ends. 2. ... the table probes until it fin")
             (is_item & line_prose & (sib.list.len() >= rule.get("item_prose_siblings", 1)) &
              (sib_ok >= rule.get("item_prose_ended", 0.9)).fill_null(False)) |
             # an unended item among sibling sentences that all end in a period, or a question
             # without its mark among questions that all carry one: the list's style
             (is_item & (sib.list.len() >= rule.get("item_periods_siblings", 99)) &
              ((sib.list.eval(pl.element().str.contains(SENTENCE_PERIOD_RE)).list.mean() >= 1.0) |
               ((sib.list.eval(pl.element().str.contains(r"\?\s*$")).list.mean() >= 1.0) &
                last.str.contains(ITEM_RE + QUESTION_RE))).fill_null(False))) & ~asked_short
    # a list or verse whose last line stops at well under half the usual length of its lines
    med = earlier.list.eval(pl.element().str.count_matches(r"\S+")).list.median()
    # (not a dialogue's last reply: "Waiter: Excellent choice" after longer lines of speakers)
    speaker = r"^\s*\p{Lu}[\w .'-]{0,30}:\s+\S"
    dialogue = last.str.contains(speaker) & (earlier.list.eval(pl.element().str.contains(speaker)).list.mean() >= 0.5)
    # (nor a result under its label: "Total: 840 yen", "答え：840円" after the worked lines)
    result_line = key_value & value.str.contains(r"\d") & (value.str.count_matches(r"\S+") <= 3) & \
        last.str.contains("(?i)^\\W{0,3}(?:" + "|".join(rule.get("result_keys") or ["answer"]) + ")")
    # (nor the answer line a chain of thought ends on: "Answer: B" after three worked lines)
    stub = (earlier.list.len() >= 3) & ~ends_ok & ~valediction & ~signed & ~result_line & ~answer_line & \
        ~dialogue.fill_null(False) & (last.str.count_matches(r"\S+") < rule.get("stub_ratio", 0.5) * med)
    # a last line ending on a comma that is not itself code is cut even inside a text with code
    comma_cut = last.str.contains(r",$") & ~last.str.contains(r"[{}()\[\]=;<>]") & ~valediction
    # reasoning asked for before an answer that never comes: the text stopped inside the reasoning
    cot_cut = pl.lit(False)
    if rule.get("cot_instruction") and rule.get("cot_answer"):
        cot_cut = _context(df, "instruction").str.contains("(?i)" + rule.get("cot_instruction")) & \
            ~t.str.contains("(?i)" + rule.get("cot_answer")) & ~ends_ok & ~code
    # a one-line text without a capital letter comes from a lower-cased corpus (rt-polarity's
    # reviews, e-SNLI's explanations), whose sentences often drop their final mark too: only a
    # dangling word or a comma tells a cut there
    lowercased = (lines.list.len() == 1) & ~t.str.contains(r"\p{Lu}")
    # a last line in another script than the lines above (an English answer that closes on the
    # motto or haiku it quotes in Chinese or Japanese): its words and marks are not measured
    # against theirs (only a dangling word, a comma or an open sum tell a cut there)
    other_script = (earlier.list.len() >= 1) & last.str.contains(r"\p{L}") & \
        (mostly_latin(last) != mostly_latin(earlier.list.join("\n")))
    # `unended_prose: false` for human-written sources, whose finished answers often drop the
    # final period: then only a dangling word, a comma, a stub line or missing reasoning tell a cut
    casual = _context(df, "instruction").str.contains(rule.get("casual_instruction")) \
        if rule.get("casual_instruction") else pl.lit(False)
    if rule.get("casual_answer"):  # ... or a short answer in that register (an emoji, "idk")
        casual = casual | (t.str.contains(rule.get("casual_answer")) &
                           (n_words <= rule.get("casual_answer_words", 80)))
    unended = (long_ & prose & ~ends_ok & ~lowercased & ~other_script & ~casual) if rule.get("unended_prose", True) else pl.lit(False)
    stub = stub & ~other_script & ~displayed & ~summary & ~label_row(last)  # (a row of buttons: "Back · Next")
    # (a line of symbols ends on no word: "... C B A" is the alphabet, not a dangling article)
    # (a comma after a finished sentence is a cut at any length: "Yes, but with limits. As a
    # full-time employee,"; a sentence ends after a lower-case word, not an abbreviation: "Dear
    # Mr. Smith," is a salutation)
    sentence_before = t.str.contains(r"\p{Ll}{2}[.!?]\s+\S")
    # a table whose last row stops before its closing pipe while the rows above close theirs
    # ("| 4 | Beryllium | Be | 9.0")
    table_cut = last.str.contains(r"^\s*\|") & ~last.str.contains(r"\|\s*$") & \
        (earlier.list.eval(pl.element().str.contains(r"^\s*\|.*\|\s*$")).list.sum() >= 2)
    # (in code "1,048,5" may be a tuple)
    fires = (cut_number & ~code) | (code & code_open) | table_cut.fill_null(False) | ((n_words >= rule.get("min_words", 10)) &
             (((~code | prose_tail) & ((dangling & ~symbols) | open_sum)) | (code & comment_cut) |
              (~code & (unended | stub.fill_null(False))) | comma_cut)) | \
        (comma_cut & sentence_before & ~code)
    empty = empty_part(rule, last, earlier, t)
    # a cut inside the last word ("... likely to report sympt"), whatever the lines above
    mid_word = pl.lit(False)
    if rule.get("mid_word"):
        mid_word = pl.lit(ends_inside_a_word(df["__t"], rule.get("mid_word"), rule.get("known") or (),
                                             rule.get("mid_word_english", 0.7))) & \
            (n_words >= rule.get("mid_word_min_words", 3))
    if rule.get("cut_asked"):  # an ending the request asks to look cut
        asked = _context(df, "instruction").str.contains(rule.get("cut_asked"))
        fires, mid_word = fires & ~asked, mid_word & ~asked
    return df.select(pl.when(mid_word).then(_fmt(rule, f"{f} ends mid-word: '…{{}}'", last.str.slice(-30)))
                     .when(fires).then(_fmt(rule, f"{f} ends mid-sentence: '…{{}}'", last.str.slice(-30)))
                     .when(empty).then(_fmt(rule, f"{f} ends on an empty list item or heading: '…{{}}'",
                                            pl.concat_str([prev_line.str.slice(-20), pl.lit(" ⏎ "), last])))
                     .when((n_words >= rule.get("min_words", 10)) & cot_cut)
                     .then(_fmt(rule, f"{f} stops inside the reasoning, before the answer asked for: '…{{}}'",
                                last.str.slice(-30))).alias("r"))["r"]


def empty_part(rule: Rule, last: pl.Expr, earlier: pl.Expr, text: pl.Expr) -> pl.Expr:
    """The last line only opens the next part of the answer, which never came: the number that
    continues its list ("1. Loosen the wheel nuts ...\n2."), a bare bullet after bulleted lines,
    or a markdown heading holding nothing but an enumerator (or nothing) after headings with
    text ("## I. Introduction ...\n## II."). A lone "B." or "42." continues no list: an answer.
    Patterns: the rule's `empty_item` (its group: the number) and `item_number` (an earlier
    item's number), `empty_bullet`, `empty_heading` (rules/filters/default.yaml)."""
    out = pl.lit(False)
    # (not inside a code block left open: unclosed_code_fence says that)
    closed = text.str.count_matches(r"(?m)^\s*```") % 2 == 0
    if rule.get("empty_item") and rule.get("item_number"):
        n = _enumerator_value(last.str.extract(rule.get("empty_item"), 1))
        items = earlier.list.eval(_enumerator_value(pl.element().str.extract(rule.get("item_number"), 1)))
        out = out | (n.is_not_null() & (n >= 2) & items.list.contains(n - 1)).fill_null(False)
        # ... or the first number under the lead-in of a list ("Here are five tips for a CV:\n1."),
        # not under a result's label ("The answer is:\n1.")
        if rule.get("list_lead_in"):
            prev = earlier.list.last().fill_null("").str.strip_chars()
            result = "(?i)\\b(?:" + "|".join(rule.get("result_keys") or ["answer"]) + ")\\b"
            out = out | ((n == 1) & prev.str.contains(rule.get("list_lead_in")) & ~prev.str.contains(result)).fill_null(False)
    if rule.get("empty_bullet"):
        bullets = earlier.list.eval(pl.element().str.contains(BULLETED_RE + r"\S")).list.any()
        out = out | (last.str.contains(rule.get("empty_bullet")) & bullets).fill_null(False)
    if rule.get("empty_heading"):
        headed = earlier.list.eval(pl.element().str.contains(r"^\s*#{1,6}\s+\S*\p{L}")).list.any()
        out = out | (last.str.contains(rule.get("empty_heading")) & headed).fill_null(False)
    return out & closed


def _roman(n: int) -> str:
    out = ""
    for v, r in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= v:
            out, n = out + r, n - v
    return out


# an outline's roman numerals, I to XXXIX ("II." after "I. Introduction")
ROMAN = {_roman(i): i for i in range(1, 40)}


def _enumerator_value(e: pl.Expr) -> pl.Expr:
    """The value of a list enumerator: digits, or a roman numeral of either case."""
    return pl.coalesce(e.cast(pl.Int64, strict=False),
                       e.str.to_uppercase().replace_strict(ROMAN, default=None, return_dtype=pl.Int64))


class WordList(tuple):
    """A rule's word list: immutable, so `load`'s copies share it, and hashed once (word lists
    run to tens of thousands of words, and copying or hashing them per call cost ~0.1 s)."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __reduce__(self):  # (to a Ray worker without the cached hash: str hashes differ per process)
        return WordList, (tuple(self),)

    def __hash__(self):
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = tuple.__hash__(self)
        return h


def _read_wordlist(path: Path) -> str:
    if path.suffix == ".gz":
        import gzip

        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text(encoding="utf-8")


def _list_lines(content: str) -> list[str]:
    """A list file's entries: its stripped lines, without blanks and `#` comments."""
    return [w.strip() for w in content.splitlines() if w.strip() and not w.startswith("#")]


def _wordlist_words(content: str, path: Path) -> list[str]:
    lines = _list_lines(content)
    if ".tsv" in path.name:  # lemma<TAB>syn1|syn2: the single words of both
        lines = [w for line in lines for part in line.split("\t") for w in part.split("|")]
    return [w for w in lines if " " not in w]


@functools.lru_cache(maxsize=1)
def _dangling_words() -> tuple[str, ...]:
    return tuple(_list_lines(DANGLING_FILE.read_text(encoding="utf-8")))


LAST_WORD_RE = r"([\p{L}\p{M}']+)\W*$"  # a line's last word, before closing marks (any script: "economía" is no "a")
ITEM_RE = r"^\s*([-*•]|\d+[.)])\s"  # a list item: bulleted or numbered
# an item that opens as a question (after ITEM_RE)
QUESTION_RE = (r"\s*(?i:what|how|why|when|where|who|whom|whose|which|do|does|did|is|are|was|were|can|could|"
               r"would|should|will|have|has|had|may|might|shall)\b")
# a line that ends a sentence with a period: after a word, or a number or unit ("375°F.", "20%.")
SENTENCE_PERIOD_RE = r"(?:[a-z]{2}|\d|\d°[FC]|%)\.\s*$"
NUMBERED_RE, BULLETED_RE = r"^\s*\d+[.)]\s", r"^\s*[-*•]\s"


# a section heading: a markdown "#" line, or a line that is all bold ("**Possible angles**:")
HEADING_RE = r"^\s*(?:#{1,6}\s+\S.*|\*\*[^*\n]+\*\*:?|__[^_\n]+__:?)\s*$"


def sibling_items(last: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """The earlier lines that are list items of the same kind (numbered or bulleted) as `last`,
    within its section: a heading above starts another list, whose items may end otherwise (a
    timeline of sentences, then "Possible essay angles" as bare phrases)."""
    rev = earlier.list.reverse()
    heads = rev.list.eval(pl.element().str.contains(HEADING_RE))
    earlier = pl.when(heads.list.any()).then(rev.list.head(heads.list.arg_max()).list.reverse()).otherwise(earlier)
    numbered = earlier.list.eval(pl.element().filter(pl.element().str.contains(NUMBERED_RE)))
    bulleted = earlier.list.eval(pl.element().filter(pl.element().str.contains(BULLETED_RE)))
    return pl.when(last.str.contains(NUMBERED_RE)).then(numbered).otherwise(bulleted)


def word_endings_are_form(earlier: pl.Expr, words: list[str]) -> pl.Expr:
    """Earlier lines (at least two) that mostly end on one of `words` make such an ending the
    text's form ("We are / They are" in a conjugation table), not a cut."""
    ends = earlier.list.eval(pl.element().str.extract(LAST_WORD_RE, 1).str.to_lowercase().is_in(words))
    return ((earlier.list.len() >= 2) & (ends.list.mean() >= 0.5)).fill_null(False)


def dangling_words() -> list[str]:
    """The default list of words a finished sentence does not end on (read once)."""
    return list(_dangling_words())


# a quotation closed and attributed on its line: "... love what you do." - Steve Jobs
QUOTE_ATTRIBUTION_RE = r"[\"”]\s*[-–—~]+\s*\p{Lu}[\w.' -]{0,40}$"
# a last token that ends a text by itself: a number, a link, a hashtag, closing math, QED,
# "etc", a worksheet's blank ("cellular ________"), a handle or a name with digits, an emoji
FINAL_TOKEN_RE = (r"(?:^|\s)(?:\p{Sc}?\d[\d,.:/%-]*%?|https?://\S+|www\.\S+|#\w+|\S*\$|Q\.?E\.?D\.?|etc|\S*_{3,}|"
                  # a handle, or a name of letters then digits (TP53, ΔF508, HEAD~1, "@crumbandco");
                  # not digits then letters, which cut sums and ordinals ("Simplify: 5x", "On his
                  # 16th"), nor flags, snake_case, camelCase or dotted names: cut inside, they
                  # still look whole ("export AWS_DEFAULT_REG", "git push origin --del")
                  # (an e-mail address too: "email the coordinator at volunteers@foodbank.org")
                  r"@\w+|[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.\p{L}{2,}|"
                  r"[^\s{}()\[\]\\]*\p{L}[^\s{}()\[\]\\]*\d[^\s{}()\[\]\\]*)\s*$|"
                  r"[\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}][\x{FE0F}\x{200D}\x{1F3FB}-\x{1F3FF}\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}]*\s*$")
VALEDICTION = (r"(?i)^(sincerely|best|regards|kind regards|best regards|warm regards|yours( truly| sincerely)?|"
               r"thanks|thank you|cheers|best wishes|respectfully|love|with love|all the best|"
               # (and other languages' closings: a team signed under them is written in lower case,
               # "Atentamente,\nEl equipo de atención al cliente", "С уважением,\nСлужба поддержки")
               r"atentamente|cordialmente|saludos( cordiales)?|un (cordial )?saludo|(bien )?cordialement|"
               r"(belle|bonne) (journée|soirée|fin de journée)|à (bientôt|très bientôt)|que tengas? un buen día|"
               r"buen día|hasta pronto|schönen tag( noch)?|bis bald|buona giornata|a presto|tenha um (bom|ótimo) dia|"
               r"até (breve|logo)|"
               r"salutations( distinguées)?|bien à (vous|toi)|mit freundlichen grüßen|(viele|beste|liebe|freundliche) grüße|"
               r"atenciosamente|com carinho|cordiali saluti|distinti saluti|un caro saluto|с уважением|"
               r"с наилучшими пожеланиями|всего доброго|此致|敬礼|此致敬礼|敬具|草々|以上|감사합니다|"
               r"مع (خالص )?التحيات|مع أطيب التحيات),?$")
# "that" / "this" after a preposition is a pronoun that ends a phrase ("- `$` — nothing after
# that", "more than that"), no dangling conjunction
PRONOUN_END = (r"(?i)\b(?:after|before|like|unlike|about|than|of|with|for|from|on|at|by|without|beyond|besides|"
               r"despite|over|under|past|all|just)\s+(?:that|this)\W*$")
# a short closing line that ends in "!" or "." rather than a comma, before a name: "Thanks for
# understanding!", "See you Friday!", "Talk soon.", "Love you!", "We look forward to seeing you!"
SIGN_OFF = (r"(?i)^(?:thanks|thank you|many thanks|cheers|see you|talk soon|speak soon|take care|"
            r"have a (?:great|good|nice|lovely|wonderful)|love you|lots of love|hugs|xo+|best|all the best|"
            r"looking forward|(?:we|i)(?:'re| are|'m| am)? look(?:ing)? forward|until (?:then|soon|next)|catch you)\b[^\n]{0,50}[!.]$")
# kisses after a message's last line: "Thanks so much!! xx", "Love you! xoxo"
KISSES = rf"(?i)[!.?]\s*{KISSES_RE}$"
# words a finished English sentence does not end on: rules/filters/dangling_words.txt
DANGLING_FILE = RULES_DIR / "dangling_words.txt"


def b_refusal(rule: Rule, df: pl.DataFrame):
    """A refusal: a first-person inability / declining pattern (`patterns` or `file`) that
    starts within the first `max_start` characters, in a short answer (`max_words`) or one
    that opens with an apology (`opener`, a regex on the lower-cased answer). Stories and lyrics
    that say "I can't" further in are left alone, and so are the spans `speech` matches (quoted
    speech, a dialogue's "Name: ..." lines): a character speaks there, not the assistant."""
    pats = (rule.get("patterns") or []) + (rule.get("words") or [])
    if not pats:
        raise ConfigError(f"rule '{rule.name}': needs `patterns` or `file`")
    alt = "|".join(f"(?:{p})" for p in pats)
    try:
        re.compile(alt)
    except re.error as e:
        raise ConfigError(f"rule '{rule.name}': bad pattern: {e}") from None
    f = rule.fields(["output"])[0]
    if f not in df.columns:
        return pl.Series([None] * df.height, dtype=pl.Utf8)
    o = _col(f)
    spoken = o.str.replace_all(rule.get("speech"), " ") if rule.get("speech") else o
    t = spoken.str.replace_all("[’‘]", "'").str.to_lowercase() \
        .str.replace_all(r"\b(can't|cannot|can not|couldn't|could not) (help (but|\w+ing)|begin to|wait|believe|"
                         r"imagine|stop|get enough|resist)\b", "")  # idioms ("couldn't help being captivated"), not refusals
    # (the text is read once: every pattern below searches the same columns)
    d = df.select(o.alias("o"), t.alias("t"), t.str.slice(0, rule.get("max_start", 200)).alias("head"))
    o, t, head = pl.col("o"), pl.col("t"), pl.col("head")
    # one search per pattern, as b_regex: each keeps its literal prefilter, where one alternation
    # of patterns in many languages with word boundaries falls back to a slow engine
    hit = pl.any_horizontal([head.str.contains(p) for p in pats])
    opener = t.str.contains(rule.get("opener", r"^\W*(?:i'm |i am |we're |we are )?(?:really |so |very |truly |terribly )?"
                                                r"(?:sorry|afraid|apologi[sz]e|apologies|my apologies|unfortunately|regrettably|"
                                                r"i regret|we regret)\b"))
    # (words counted as `length` counts them: a Chinese answer is many words, not one)
    n_words = o.str.count_matches(WORD_RE)
    short = n_words <= rule.get("max_words", 80)
    fires = d.select((hit & (short | opener)).alias("x"))["x"]
    # what it matched, read on the rows it fires on only
    which = d.select(pl.when(pl.lit(fires)).then(head).otherwise(pl.lit("")).str.extract(f"({alt})", 1)
                     .str.slice(0, 40).alias("w"))["w"]
    return pl.select(pl.when(pl.lit(fires)).then(_fmt(rule, f"{f} refuses: '{{}}'", pl.lit(which))).alias("r"))["r"]


def b_garbled(rule: Rule, df: pl.DataFrame) -> pl.Series:
    """Scrambled word order (dataforge/clean/garble.py): at least `min_bad` implausible
    function-word transitions and at least `max_rate` of the tokens, or one in a short text
    (at most `short_tokens` tokens, where two rarely fit) that fluent English never makes
    (not one of garble.WEAK: "how bad it is.", "but, ..."). Code and tables skipped."""
    from dataforge.clean.garble import garble_stats
    f = rule.fields(["output"])[0]
    texts = df[f] if f in df.columns else pl.Series([""] * df.height)
    st = garble_stats(texts)
    code = df.select(code_or_table(_col(f)))[:, 0] if f in df.columns else pl.Series([False] * df.height)
    rate = st["bad"] / st["tokens"].clip(lower_bound=1)
    # a short text needs one transition that fluent English does not make (garble.WEAK do)
    fires = (((st["bad"] >= rule.get("min_bad", 2)) & (rate >= rule.get("max_rate", 0.02))) |
             ((st["bad"] - st["weak"] >= 1) & (st["tokens"] <= rule.get("short_tokens", 0)))) & ~code
    r = pl.select(pl.when(pl.lit(fires)).then(pl.format(f"{rule.name}: {f} has {{}} implausible word transitions "
                                                        f"in {{}} tokens", pl.lit(st["bad"]), pl.lit(st["tokens"])))
                  .alias("r"))["r"]
    return r


# a sentence that is a question (its "?" before any closing quotes or brackets)
QUESTION_END = r"\?[\s\"'”’)\]*]*$"


def _opening(patterns: list[str]) -> str:
    """One case-insensitive regex: a text that opens with any of `patterns`."""
    return "(?i)^(?:" + "|".join(patterns) + ")"


def _sentences(text: pl.Expr, also: str = "") -> pl.Expr:
    """The text's sentences (split after . ! ? and a space), and its clauses where `also` (a
    regex of separators, replaced; its first group, the word that opens the next clause, kept)
    splits them further."""
    t = text.str.replace_all(r"([.!?])\s+", "$1\x00")
    if also:
        t = t.str.replace_all(also, "\x00${1}")
    return t.str.split("\x00").list.eval(pl.element().str.strip_chars().filter(pl.element() != ""))


def _every_sentence(text: pl.Expr, pattern: str, min_sentences: int, also: str = "") -> pl.Expr:
    """The text has at least `min_sentences` sentences (or clauses, `also`) and every one
    matches `pattern`."""
    sents = _sentences(text, also)
    return (sents.list.len() >= min_sentences) & sents.list.eval(pl.element().str.contains(pattern)).list.all()


def b_non_answer(rule: Rule, df: pl.DataFrame):
    """No answer at all: a short reply made only of filler words (`file`: acknowledgements,
    politeness, pronouns, "here you go", "as requested") where the instruction is not a yes/no
    question, or at most `max_words` words where it asks for an explanation or a piece of
    writing (`demands_text`, unless `allows_short`: one word, a title, a name)."""
    f = rule.fields(["output"])[0]
    filler = [w.lower() for w in rule.get("words") or []]
    o = _col(f).str.strip_chars()
    ins = _context(df, "instruction").str.strip_chars()
    # (a Chinese sentence is many words, not one: words counted as `length` counts them, which
    # is a count of runs of non-spaces in texts without letters of scripts that use no spaces)
    n_words = o.str.count_matches(WORD_RE)
    # the words of short replies only: a filler reply is short, and long texts cost the most
    short = pl.when(n_words <= rule.get("filler_max_words", 8)).then(o).otherwise(pl.lit(""))
    words = short.str.to_lowercase().str.replace_all("[’‘]", "'").str.extract_all(r"[a-z/']+|\d+") \
        .list.eval(pl.element().str.strip_chars("'"))
    only_filler = (words.list.len() > 0) & words.list.eval(pl.element().is_in(filler)).list.all()
    # ... unless the instruction asks for those very words ("Reply with OK", "say thanks")
    said = words.list.join(" ")
    asked_for = (said != "") & ins.str.to_lowercase().str.replace_all("[’‘]", "'").str.contains(said, literal=True)
    fires = only_filler & ~asked_for
    if rule.get("yes_no_instruction"):
        fires = fires & ~ins.str.contains("(?i)" + rule.get("yes_no_instruction"))
    if rule.get("demands_text"):
        demands = ins.str.contains("(?i)" + rule.get("demands_text"))
        if rule.get("allows_short"):
            demands = demands & ~ins.str.contains("(?i)" + rule.get("allows_short"))
        fires = fires | (demands & (n_words <= rule.get("max_words", 3)))
    if rule.get("talk_sentences"):  # every sentence talks about an answer that is not there
        pats = _opening(rule.get("talk_sentences"))
        # (talk without an answer is short and opens as talk: only such texts are split)
        opens = o.str.contains("(?i)" + rule.get("talk_opens")) if rule.get("talk_opens") else pl.lit(True)
        brief = pl.when((n_words <= rule.get("talk_max_words", 80)) & opens).then(o).otherwise(pl.lit(""))
        talk = _every_sentence(brief, pats, 2)
        if rule.get("talk_asked"):  # a closing line or a reply may be just that
            talk = talk & ~ins.str.contains("(?i)" + rule.get("talk_asked"))
        fires = fires | talk
    # (a short answer's sentences, read by the deferral and the given-figures checks)
    brief_defer = pl.when(n_words <= rule.get("defer_max_words", 40)).then(o).otherwise(pl.lit(""))
    ack = _opening(rule.get("defer_ack")) if rule.get("defer_ack") else None
    if rule.get("defer_sentences"):  # every sentence puts the answer off or asks for what was given
        pats = _opening(rule.get("defer_sentences"))
        defer = _every_sentence(brief_defer, pats, 1)
        if ack:  # ... next to sentences that only acknowledge ("Sure! I'll ... later.")
            sents = _sentences(brief_defer)
            defer = defer | ((sents.list.len() >= 2) &
                             sents.list.eval(pl.element().str.contains(pats + "|" + ack)).list.all() &
                             sents.list.eval(pl.element().str.contains(pats)).list.any())
        if rule.get("talk_asked"):  # a reply or a message may promise ("I'll send it tomorrow.")
            defer = defer & ~ins.str.contains("(?i)" + rule.get("talk_asked"))
        fires = fires | defer
    if rule.get("question_max_words"):  # only a question back ("What do you think it is?")
        brief = pl.when(n_words <= rule.get("question_max_words")).then(o).otherwise(pl.lit(""))
        back = _every_sentence(brief, QUESTION_END, 1)
        if rule.get("question_back"):  # ... about what the user thinks, knows or wants
            back = back & brief.str.contains("(?i)" + rule.get("question_back"))
        # ... not where questions are what is asked for (a riddle, a quiz, an interview, a reply,
        # a translation or rewrite of a question), where the request or its input holds a
        # question of its own, nor where the request points at material it did not give ("Sort
        # these numbers.": asking for them is the answer)
        if rule.get("question_when"):  # (only requests for a fact, an explanation or a working)
            back = back & ins.str.contains("(?i)" + rule.get("question_when"))
        if rule.get("question_asked"):
            back = back & ~ins.str.contains("(?i)" + rule.get("question_asked"))
        # (with an input, the answer is most often that input transformed: "Add the punctuation.")
        inp = _context(df, "input").fill_null("").str.strip_chars()
        back = back & ~ins.str.contains(r"\?\s*\S") & (inp == "")
        if rule.get("absent_material"):
            given = ins.str.contains(r"[:：]\s*\S|[\"“‘«]\S|(?:^|\s)'\S[^'\n]*'")  # quoted or after a colon
            back = back & ~(~given & ins.str.contains("(?i)" + rule.get("absent_material")))
        fires = fires | back
    if rule.get("given_numbers"):  # only asks for the figures the request gave ("how many tickets did you buy?")
        # (questions and acknowledgements only, no figure of its own, where the request holds
        # `given_numbers` figures or more: it asks for what it was given)
        sents = _sentences(brief_defer)
        asks = sents.list.eval(pl.element().str.contains(QUESTION_END + "|" + (ack or "$^"))).list.all() & \
            sents.list.eval(pl.element().str.contains(QUESTION_END)).list.any() & (sents.list.len() >= 1)
        figures = pl.concat_str([ins, _context(df, "input").fill_null("")], separator=" ").str.count_matches(r"\d+(?:[.,]\d+)?")
        asked_q = ins.str.contains("(?i)" + rule.get("question_asked")) if rule.get("question_asked") else pl.lit(False)
        # (... about a quantity: "how many tickets", "what each one cost"; "Which city?" asks for
        # what was not given)
        quantity = brief_defer.str.contains("(?i)" + rule.get("given_ask")) if rule.get("given_ask") else pl.lit(True)
        fires = fires | (asks & quantity & ~o.str.contains(r"\d") & (figures >= rule.get("given_numbers")) & ~asked_q)
    if rule.get("disclaimer_clauses"):  # only cautions and disclaimers, no answer among them
        pats = "(?i)^" + rule.get("disclaimer_lead", "") + "(?:" + "|".join(rule.get("disclaimer_clauses")) + ")[.!]*$"
        brief = pl.when(n_words <= rule.get("disclaimer_max_words", 90)).then(o).otherwise(pl.lit(""))
        only = _every_sentence(brief, pats, 2, also=rule.get("clause_split", ""))
        if rule.get("disclaimer_asked"):
            only = only & ~ins.str.contains("(?i)" + rule.get("disclaimer_asked"))
        fires = fires | only
    if rule.get("lead_in_max_words"):  # a lead-in with nothing after it: "Summary:", "Here is the poem:"
        # (not a line of code that opens a block: "def parse(path):", "for x in xs:")
        block = o.str.contains(r"^\s*(?:(?:(?:async\s+)?def|class|elif|else|try|except|finally|"
                               r"(?:if|for|while|with|match|case)\s[^\n]*[()\[\]=<>.])\b|"
                               r"(?:async\s+)?for\s+[\w, ()]+\s+in\s+\S)[^\n]*:$")
        fires = fires | ((n_words <= rule.get("lead_in_max_words")) & o.str.contains(r"[:：]$") &
                         ~o.str.contains("\n") & ~block)
    return pl.when(fires).then(_fmt(rule, f"{f} is no answer: '{{}}'", o.str.slice(0, 40)))


def b_code_fence(rule: Rule, df: pl.DataFrame):
    """An odd number of fences (unclosed), or with `check: empty`, a block with nothing in it
    ("```python\n```": the code never came)."""
    f = rule.fields(["output"])[0]
    n = _col(f).str.count_matches(r"(?m)^\s*```")
    if rule.get("check", "unclosed") == "empty":
        # fences pair up in order (a closing fence followed by the next opening one is no block)
        blocks = _col(f).str.extract_all(r"(?ms)^[ \t]*```[^\n]*\n.*?^[ \t]*```")
        empty = blocks.list.eval(pl.element().str.replace(r"^[ \t]*```[^\n]*\n", "")
                                 .str.replace(r"```$", "").str.strip_chars() == "").list.sum()
        return pl.when((n % 2 == 0) & (empty > 0)).then(_fmt(rule, f"{f} has {{}} empty code block(s)", empty))
    return pl.when(n % 2 == 1).then(_fmt(rule, f"{f} has {{}} code fences (unclosed)", n))


def b_brackets(rule: Rule, df: pl.DataFrame):
    """More opening than closing brackets: the text stopped inside one. Brackets that the rule's
    `ignore` regexes match (talked about, not opened: "the `{` character", ":(") are not counted."""
    f = rule.fields(["output"])[0]
    t = _col(f)
    for pat in rule.get("ignore") or []:
        t = t.str.replace_all(pat, " ")
    out = []
    for pair in rule.get("pairs", ["()", "[]", "{}"]):
        o, c = pair[0], pair[1]
        no = t.str.count_matches(re.escape(o))
        nc = t.str.count_matches(re.escape(c))
        out.append(pl.when(no > nc + rule.get("tolerance", 0)).then(
            _fmt(rule, f"{f} has {{}} '{o}' but {{}} '{c}'", no, nc)))
    return _first(out)


def b_url_ratio(rule: Rule, df: pl.DataFrame):
    out = []
    for f in rule.fields(["output"]):
        t = _col(f)
        link_chars = t.str.extract_all(URL_OR_EMAIL).list.eval(pl.element().str.len_chars()).list.sum().fill_null(0)
        frac = link_chars / t.str.len_chars().clip(lower_bound=1)
        n = t.str.count_matches(URL_OR_EMAIL)
        # one link in a sentence ("The official tutorial is a great start: https://...") is an
        # answer; the share counts once there are several, or few words around the one
        words = t.str.replace_all(URL_OR_EMAIL, " ").str.count_matches(r"\S+")
        bad = (frac > rule.get("max_frac", 0.3)) & ((n >= 2) | (words < rule.get("single_link_words", 6)))
        if rule.get("max_count") is not None:
            bad = bad | (n > rule.get("max_count"))
        out.append(pl.when(bad).then(_fmt(rule, f"{f} is {{}}% links/e-mails ({{}} of them)",
                                          (frac * 100).round(0).cast(pl.Int64), n)))
    return _first(out)


def b_keyboard_mash(rule: Rule, df: pl.DataFrame) -> pl.Series:
    """Text typed at random: most Latin words are keyboard runs ("asdfgh", "lkjhg", "qwerty"),
    two letters repeated ("jkjkjk", "fjfjfj") or five letters or more without a vowel. Counted
    over the words of each row (links removed); fires at `min_words` such words making at
    least `min_share` of its words."""
    f = rule.fields(["output"])[0]
    if f not in df.columns:
        return pl.Series([None] * df.height, dtype=pl.Utf8)
    runs = "|".join(rule.get("runs") or [])
    t = df.select(_col(f).str.replace_all(URL_OR_EMAIL, " ").str.to_lowercase().alias("t")).with_row_index("__r")
    w = t.select("__r", pl.col("t").str.extract_all(r"\p{L}+").alias("w")).explode("w").drop_nulls("w")
    el = pl.col("w")
    # a word that is its own shift by two letters is two letters repeated ("jkjkjk", "aaaaaa")
    two_letters = (el.str.len_chars() >= 6) & (el.str.slice(2) == el.str.slice(0, el.str.len_chars() - 2))
    mash = el.str.contains(r"^[a-z]+$") & (
        (el.str.contains(runs) if runs else pl.lit(False)) | two_letters |
        ((el.str.len_chars() >= 5) & ~el.str.contains(r"[aeiouy]")))
    per = w.group_by("__r").agg(pl.len().alias("n"), mash.sum().alias("m"))
    counts = t.select("__r").join(per, on="__r", how="left").sort("__r").fill_null(0)
    fires = (counts["m"] >= rule.get("min_words", 2)) & \
        (counts["m"] >= rule.get("min_share", 0.5) * counts["n"].clip(lower_bound=1))
    return pl.select(pl.when(pl.lit(fires)).then(_fmt(rule, f"{f} is typed at random ({{}} of {{}} words)",
                                                      pl.lit(counts["m"]), pl.lit(counts["n"]))).alias("r"))["r"]


def b_repetition(rule: Rule, df: pl.DataFrame) -> pl.Series:
    f = rule.fields(["output"])[0]
    top = {int(k): float(v) for k, v in (rule.get("top_n_grams") or {}).items()}
    dup = {int(k): float(v) for k, v in (rule.get("dup_n_grams") or {}).items()}
    limits = {k: rule.get(k) for k in ("dup_line_frac", "dup_para_frac", "dup_line_char_frac",
                                       "dup_para_char_frac") if rule.get(k) is not None}
    limits |= {f"top_{n}_gram": v for n, v in top.items()} | {f"dup_{n}_gram": v for n, v in dup.items()}
    words = df.select(_col(f).str.count_matches(SHINGLE_TOKEN_RE))[:, 0] if f in df.columns else pl.Series([0] * df.height)
    ok = words >= rule.get("min_words", 0)
    if rule.get("skip_code", False) and f in df.columns:
        code = df.select(code_or_table(_col(f)))[:, 0]
        ok = ok & ~code
    # only the rows the rule judges are counted (the others' figures are never read)
    text = df.select(pl.when(pl.lit(ok)).then(_col(f)).otherwise(pl.lit("")))[:, 0] if f in df.columns \
        else pl.Series([""] * df.height)
    s = repetition.stats(text, list(top), list(dup))
    # a list of distinct short lines built on one frame ("A is for apple", "B is for ball", ...)
    # repeats its frame by design: the top n-grams say nothing there (a loop repeats lines)
    lines = df.select(_col(f).str.strip_chars().str.split("\n").list.eval(
        pl.element().filter(pl.element().str.contains(r"\S")))).to_series() if f in df.columns else None
    framed = pl.Series([False] * df.height) if lines is None else \
        ((lines.list.len() >= rule.get("frame_min_lines", 8)) &
         (lines.list.eval(pl.element().str.count_matches(r"\w+")).list.median() <= rule.get("frame_max_words", 10)))
    s = s.with_columns(pl.lit(framed).alias("__framed"))
    checks = [pl.when((pl.col(k) > v) & ~(k.startswith("top_") & pl.col("__framed") & (pl.col("dup_line_frac") == 0)))
              .then(_fmt(rule, f"{f} {k} {{}} > {v}", pl.col(k).round(3)))
              for k, v in limits.items()]
    if not checks:
        return pl.Series([None] * df.height, dtype=pl.Utf8)
    r = s.select(_first(checks).alias("r"))["r"]
    return pl.select(pl.when(pl.lit(ok)).then(pl.lit(r)).alias("r"))["r"]


def b_line_loop(rule: Rule, df: pl.DataFrame):
    """A text that ends by saying the same thing again and again: its last `min_lines` non-blank
    lines are one line, or its last lines repeat a block of two or three lines `min_blocks`
    times ("Best regards,\nTom" six times), the repeated part `min_line_words` words or more.
    Sentences count as lines ("Hasta mañana. Hasta mañana. Hasta mañana. ..."): in code as in prose."""
    f = rule.fields(["output"])[0]
    n = int(rule.get("min_lines", 4))
    reps = int(rule.get("min_blocks", 3))
    words = rule.get("min_line_words", 2)
    # (a code block's closing fence is no line of it: the loop is the block's last lines)
    units = _col(f).str.replace(r"\n[ \t]*```[ \t]*$", "").str.replace_all(r"([.!?])[ \t]+", "$1\n").str.split("\n").list.eval(
        pl.element().str.strip_chars().filter(pl.element() != ""))
    tail = units.list.tail(n)
    loops = [(tail.list.len() >= n) & (tail.list.n_unique() == 1) &
             (tail.list.last().str.count_matches(r"\p{L}+") >= words)]
    for k in (2, 3):  # a block of k units: the tail equals itself shifted by k
        t = units.list.tail(k * reps)
        loops.append((t.list.len() >= k * reps) & (t.list.n_unique() >= 2) &
                     (t.list.head(k * (reps - 1)) == t.list.tail(k * (reps - 1))) &
                     (t.list.tail(k).list.join(" ").str.count_matches(r"\p{L}+") >= words))
    reason = pl.when(pl.any_horizontal(loops)).then(
        _fmt(rule, f"{f} ends by repeating: '{{}}'", units.list.last().str.slice(0, 40)))
    if rule.get("min_run"):  # ... or, anywhere, one line said `min_run` times in a row (a loop
        # inside a code block: the same command twelve times, then the script goes on)
        run, run_words = int(rule.get("min_run")), int(rule.get("min_run_words", 3))
        rle = pl.element().rle()
        runs = units.list.eval(rle.filter((rle.struct.field("len") >= run) & (
            rle.struct.field("value").str.count_matches(r"\p{L}+") >= run_words)).struct.field("value"))
        reason = reason.when(runs.list.len() > 0).then(
            _fmt(rule, f"{f} repeats a line {run} times or more: '{{}}'", runs.list.first().str.slice(0, 40)))
    return reason


def b_list_loop(rule: Rule, df: pl.DataFrame):
    """A list whose items loop: a generation that fell into repeating earlier items of its list
    ("1. Escape room 2. Cooking class ... 5. Cooking class 6. Trivia night 7. Cooking class ...").
    Fires where the list (lines matching `item`, inline enumerations split by `inline_item`;
    code blocks left out) holds at least `min_items` items and ends on a run of at least
    `min_tail` items that each repeat an earlier item of `min_item_words` words or more, the
    repeats making at least `min_share` of its items. Items of one word (an answer key's "B",
    "True") and labelled lines that differ by their label ("Monday: rest") repeat nothing."""
    f = rule.fields(["output"])[0]
    item = rule.get("item", r"^[ ]?(?:\d{1,3}[.)]|[-*•])\s+")
    t = _col(f).str.replace_all(r"(?s)```.*?```", "\n")
    if rule.get("inline_item"):  # "1. A 2. B 3. C" on one line: an item a line
        t = t.str.replace_all(rule.get("inline_item"), "$1\n$2")
    lines = t.str.split("\n").list.eval(pl.element().filter(pl.element().str.strip_chars() != ""))
    # an item's words, lower-cased, without its marker, emphasis and punctuation; null for a line
    # that is no item or an item of fewer words
    words = pl.element().str.replace(item, "").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()
    keys = lines.list.eval(pl.when(pl.element().str.contains(item) &
                                   (words.str.count_matches(r"\S+") >= rule.get("min_item_words", 2)))
                           .then(words).otherwise(None))
    repeat = keys.list.eval(pl.element().is_not_null() & ~pl.element().is_first_distinct())
    n_items = lines.list.eval(pl.element().str.contains(item)).list.sum()
    repeats = repeat.list.sum()
    # the run of repeats the text ends on (a loop goes on until the generation stops)
    tail = repeat.list.eval(pl.element().reverse().cast(pl.Int32).cum_min().sum()).list.first().fill_null(0)
    fires = (n_items >= rule.get("min_items", 6)) & (tail >= rule.get("min_tail", 3)) & \
        (repeats >= rule.get("min_share", 0.3) * n_items)
    # ... or a list whose second half is its first again, item for item, however short the items
    # ("1. Gardening ... 5. Pottery 6. Gardening ... 10. Pottery"): `min_block` distinct items
    msg = pl.when(fires).then(_fmt(rule, f"{f} list repeats {{}} of its {{}} items, the last {{}} in a row",
                                   repeats, n_items, tail))
    block = rule.get("min_block", 0)
    if not block:
        return msg
    # (read only where the list has 2 x min_block items or more and its first item's text comes
    # back: few rows)
    first_item = t.str.extract("(?m)" + item + r"(.+)$", 1)
    many = df.select(((t.str.count_matches("(?m)" + item) >= 2 * block) &
                      (t.str.split(first_item.fill_null("\x00")).list.len() >= 3)).fill_null(False)).to_series()
    out = df.select(msg.alias("r")).to_series()
    if many.any():
        idx = many.arg_true()
        items = lines.list.eval(pl.element().filter(pl.element().str.contains(item))).list.eval(words)
        half = items.list.len() // 2
        first, second = items.list.slice(0, half), items.list.slice(half, half)
        twice = (items.list.len() == 2 * half) & (half >= block) & (first.list.n_unique() == half) & (first == second)
        got = df[idx].select(pl.when(twice.fill_null(False)).then(
            _fmt(rule, f"{f} list says its first {{}} items again, in order", half))).to_series()
        out = out.scatter(idx, pl.select(pl.coalesce(pl.lit(out.gather(idx)), pl.lit(got))).to_series())
    return out


def b_script_switch(rule: Rule, df: pl.DataFrame):
    """An answer in Latin-script prose that switches into another script mid-way ("It uses a hash
    function to compute an index, 从而可以在平均O(1)的时间内完成查找。..."), a known failure of
    multilingual models. Fires where the answer has at least `min_latin_words` Latin words and a
    run of at least `min_run` characters of `script` that it ends on (CJK punctuation, digits and
    spaces may sit inside the run: a sentence, not a title or a name in brackets; quoted spans,
    `speech`, left out), while the request (instruction, input, system) holds no character of
    that script. A request that names a language, asks for a translation or characters spares
    it (`unless_instruction`)."""
    f = rule.fields(["output"])[0]
    if f not in df.columns:
        return pl.Series([None] * df.height, dtype=pl.Utf8)
    script = rule.get("script", r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}")
    n = int(rule.get("min_run", 16))
    run = f"[{script}][{script}，、。！？：；（）「」\\s\\d]{{{n - 1},}}"  # (digits: "1789年")
    context = pl.concat_str([_context(df, c).fill_null("") for c in ("instruction", "input", "system")],
                            separator="\n")
    # the answer ends in the other script (a model that drifts stays there); a line of a poem or a
    # saying quoted in its original script and explained after, or in quotes (`speech`), is no switch
    o = _col(f).str.replace_all(rule.get("speech"), " ") if rule.get("speech") else _col(f)
    at_end = f"({run})" + r"[\s\p{P}]*$"
    # (a drift keeps technical words in Latin letters: "因此，对于CPU密集型任务，... multiprocessing 模块";
    # the ending run may hold short Latin tokens where most of it is the other script)
    mixed = f"([{script}](?:[{script}，、。！？：；（）「」\\s\\d]|[A-Za-z][\\w/.+#-]{{0,24}})*)" + r"[\s\p{P}]*$"
    # (read only where the script appears at all: the expression is costly over Latin text)
    idx = df.select(_col(f).str.contains(f"[{script}]").alias("h"))["h"].arg_true()
    tail_s = pl.Series("t", [""] * df.height, dtype=pl.Utf8)
    if idx.len():
        tail_s = tail_s.scatter(idx, df[idx].select(o.str.extract(mixed, 1).fill_null("").alias("t"))["t"])
    tail = pl.lit(tail_s)
    in_script = tail.str.count_matches(f"[{script}]")
    drift = (in_script >= 2 * n) & (in_script >= float(rule.get("min_share", 0.6)) * tail.str.count_matches(r"[^\s\p{P}]"))
    fires = (o.str.contains(at_end) | drift) & \
        (_col(f).str.count_matches(r"\b\p{Latin}{2,}\b") >= rule.get("min_latin_words", 15)) & \
        ~context.str.contains(f"[{script}]")
    return pl.when(fires).then(_fmt(rule, f"{f} switches script mid-answer: '{{}}'",
                                    pl.coalesce(o.str.extract(at_end, 1), tail).str.strip_chars().str.slice(0, 30)))


def b_letter_body(rule: Rule, df: pl.DataFrame):
    """A letter or email with no body: take away its subject line, its greeting ("Dear Ms.
    Rivera,", "Hi HR team,") and its closing with everything under it ("Best regards,\nChloe"),
    and fewer than `min_words` words are left. Only where the instruction asks for a letter,
    an email or a reply (`only_instruction`)."""
    f = rule.fields(["output"])[0]
    t = _col(f).str.replace_all("\r", "")
    t = t.str.replace_all(r"(?im)^[ \t]*(?:subject|re|to|from|cc|date)[ \t]*:[^\n]*$", "")
    t = t.str.replace(r"(?i)^\s*(?:dear|hi|hello|hey|greetings|good (?:morning|afternoon|evening)|to whom)\b[^\n]{0,60}\n", "")
    t = t.str.replace(r"(?is)(?:^|\n)[ \t]*" + rule.get("closing", VALEDICTION.removeprefix("(?i)").strip("^$"))
                      + r"[ \t]*,?[ \t]*(?:\n.*)?$", "")
    body = t.str.count_matches(r"\p{L}[\p{L}'-]*")
    letter = _col(f).str.contains(r"(?im)^[ \t]*subject[ \t]*:|^\s*(?:dear|hi|hello)\b|^[ \t]*" +
                                   VALEDICTION.removeprefix("(?i)").strip("^$") + r"[ \t]*,?[ \t]*$")
    return pl.when(letter & (body < rule.get("min_words", 5))).then(
        _fmt(rule, f"{f} is a letter with no body ({{}} words between greeting and closing)", body))


def b_repeated_paragraph(rule: Rule, df: pl.DataFrame):
    """A last paragraph of prose (one line, at least `min_words` words) that says an earlier
    paragraph again word for word: an essay whose conclusion is its introduction pasted back;
    or any such paragraph (a numbered step too) said twice; or a long sentence said
    `sentence_times` times."""
    f = rule.fields(["output"])[0]
    norm = lambda e: e.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()  # noqa: E731
    paras = _col(f).fill_null("").str.strip_chars().str.split("\n\n").list.eval(
        pl.element().filter(pl.element().str.strip_chars() != ""))
    last = paras.list.last().fill_null("")
    n = rule.get("min_words", 25)
    prose = (last.str.count_matches(WORD_RE) >= n) & ~last.str.strip_chars().str.contains("\n")
    again = paras.list.head(paras.list.len() - 1).list.eval(norm(pl.element())).list.contains(norm(last))
    # ... or one said twice anywhere: a paragraph (or a numbered step, its number aside) of prose
    # pasted in again further down ("6. Check the tire. Run your fingers ..." = step 4)
    body = pl.element().str.strip_chars().str.replace(r"^\d{1,3}[.)]\s+", "")
    long_ = paras.list.eval(pl.element().filter((pl.element().str.count_matches(WORD_RE) >= n) &
                                                ~pl.element().str.strip_chars().str.contains("\n"))).list.eval(norm(body))
    twice = long_.list.eval(pl.element().filter(pl.element().is_duplicated())).list.first()
    out = pl.when(prose & again.fill_null(False)).then(
        _fmt(rule, f"{f} ends on an earlier paragraph again: '{{}}'", last.str.slice(0, 40))) \
        .when(twice.is_not_null()).then(_fmt(rule, f"{f} says a paragraph twice: '{{}}'", twice.str.slice(0, 40)))
    k = rule.get("sentence_times")
    if not k:
        return out
    # ... or a sentence of `sentence_min_words` words or more said `sentence_times` times, inside
    # one paragraph or across them: a generation loop ("An API is a set of rules ... An API is a
    # set of rules ... An API is a set of rules ...")
    sm = rule.get("sentence_min_words", 8)
    # (in lines of prose: a refrain in verse is a line of its own, and comes back by design)
    prose_lines = _col(f).fill_null("").str.split("\n").list.eval(
        pl.element().filter(pl.element().str.count_matches(WORD_RE) >= 20)).list.join("\n")
    sentences = prose_lines.str.extract_all(r"[^.!?\n]+[.!?]").list.eval(
        norm(pl.element())).list.eval(pl.element().filter(pl.element().str.count_matches(WORD_RE) >= sm).sort())
    thrice = sentences.list.eval(pl.element().filter(pl.element() == pl.element().shift(k - 1))).list.first()
    return out.when(thrice.is_not_null()).then(
        _fmt(rule, f"{f} says a sentence {k} times: '{{}}'", thrice.str.slice(0, 40)))


def b_user_turn(rule: Rule, df: pl.DataFrame):
    """A reply that goes on to write a turn of a speaker of the transcript in the input
    ("Customer: ...", "Student: ...") after its own text (dataforge/clean/turns.py); not where
    the instruction asks for a dialogue, a script or more turns (`unless_instruction`)."""
    from dataforge.clean.turns import other_turn
    f = rule.fields(["output"])[0]
    inp = _context(df, "input").fill_null("")
    when = inp.str.contains(r"(?m)^[ \t]*[A-Z][\w .'-]{0,24}:[ \t]*\S") & \
        _context(df, f).str.contains(r"\n[ \t]*(?:#{2,}[ \t]*)?[A-Z][\w .'-]{0,24}:")
    got = _per_row(df, when, other_turn, inp)
    return pl.when(pl.lit(got).is_not_null()).then(_fmt(rule, f"{f} writes the other side's turn: '{{}}:'", pl.lit(got)))


def b_span(rule: Rule, df: pl.DataFrame):
    """An answer the request asks to copy from a passage ("Answer with a span copied from the
    passage") that is not in it: at most `max_words` words, found in neither the input nor the
    instruction (case, spaces, quotes and a final full stop aside), and none of the answers the
    request offers for a missing one (`allowed`: "unanswerable"; or quoted in the request).
    Only where the instruction matches `when`."""
    f = rule.fields(["output"])[0]
    norm = lambda e: e.fill_null("").str.to_lowercase().str.replace_all(r"[’‘`]", "'").str.replace_all(r"[“”]", '"') \
        .str.replace_all(r"\s+", " ").str.strip_chars()  # noqa: E731
    ans = norm(_col(f)).str.strip_chars(" .\"'")
    hay = norm(pl.concat_str([_context(df, "instruction"), _context(df, "input")], separator=" "))
    asked = _context(df, "instruction").str.contains("(?i)" + rule.get("when", "$^"))
    short = (ans.str.count_matches(WORD_RE) <= rule.get("max_words", 20)) & (ans != "")
    allowed = ans.is_in([a.lower() for a in rule.get("allowed") or []])
    missing = ~hay.str.contains(ans, literal=True)
    one = pl.when(asked & short & ~allowed & missing).then(
        _fmt(rule, f"{f} is not in the passage: '{{}}'", _col(f).str.slice(0, 40)))
    if not rule.get("list_when") or f != "output":
        return one
    # a list of keywords or phrases the request says appear in the text ("Extract five keywords
    # that appear verbatim in the text"): each item, found in neither the input nor the instruction
    from dataforge.clean.spans import item_not_in_source
    listed = _context(df, "instruction").str.contains("(?i)" + rule.get("list_when")) & \
        (_context(df, "input").fill_null("").str.strip_chars() != "")
    request = pl.concat_str([_context(df, "instruction"), _context(df, "input").fill_null("")], separator="\n")
    got = _per_row(df, listed, item_not_in_source, request)
    return pl.coalesce([one, pl.when(pl.lit(got).is_not_null()).then(
        _fmt(rule, "listed phrase is not in the text: '{}'", pl.lit(got)))])


def b_leaked_answer(rule: Rule, df: pl.DataFrame):
    """A request that carries its own answer: a tag (`tag`: "[label: negative]", "(answer: 1982)")
    or a closing "Relation: contradiction" (`closing`) in the instruction or input whose value
    is the whole answer (case, quotes and end marks aside). A conversion that left the gold
    label in the prompt teaches copying."""
    f = rule.fields(["output"])[0]
    norm = lambda e: e.fill_null("").str.to_lowercase().str.replace_all(r"[\s_]+", " ").str.strip_chars(" \t\n.\"'“”‘’`*()[]")  # noqa: E731
    req = pl.concat_str([_context(df, "instruction").fill_null(""), _context(df, "input").fill_null("")], separator="\n") \
        .str.strip_chars()
    value = pl.coalesce([req.str.extract(rule.get("tag"), 1), req.str.extract(rule.get("closing"), 1)] +
                        ([req.str.extract(rule.get("line"), 1)] if rule.get("line") else []))
    ans = norm(_col(f))
    return pl.when((ans != "") & (norm(value) == ans)).then(
        _fmt(rule, f"request already holds the answer: '{{}}'", value.str.slice(0, 40)))


def _per_row(df: pl.DataFrame, when: pl.Expr, fn, request: pl.Expr | None = None) -> pl.Series:
    """`fn(request, output)` (str or None) on the rows `when` selects; None elsewhere. For
    judgments that parse each row (the choices a request lists), which few rows need. The
    request is the instruction, or the expression given."""
    out = pl.Series([None] * df.height, dtype=pl.Utf8)
    if not {"instruction", "output"} <= set(df.columns):
        return out
    mask = df.select(when.fill_null(False))[:, 0]
    if not mask.any():
        return out
    idx = mask.arg_true()
    req = _col("instruction") if request is None else request
    rows = df.select(req.alias("r"), _col("output").alias("o")).gather(idx).rows()
    return out.scatter(idx, pl.Series([fn(i, o) for i, o in rows], dtype=pl.Utf8))


def b_choice(rule: Rule, df: pl.DataFrame):
    """A short answer that is none of the choices its request lists (dataforge/clean/choices.py):
    `patterns` (Python regexes whose group 1 is the list, "Choose from: joy, sadness"),
    `line_list` (a list of "- item" lines under a label), `prefix` (a label the answer may open
    with, "Sentiment:"), `synonyms` (answers that name a choice another way: "yes" for "true").
    Only rows whose instruction matches `when` are parsed."""
    from dataforge.clean.choices import invalid_choice
    pats, line_list, prefix = rule.get("patterns") or [], rule.get("line_list", ""), rule.get("prefix", "")
    syn, max_words, in_pats = rule.get("synonyms") or {}, rule.get("max_words", 6), rule.get("input_patterns") or []
    letter_request = rule.get("letter_request", "")
    # (the choices may be listed in the input: "Options:\n- yes\n- no" under a premise)
    request = pl.concat_str([_col("instruction"), _context(df, "input").fill_null("")], separator="\x00")
    short = _context(df, "output").str.count_matches(WORD_RE) <= rule.get("max_answer_words", 25)

    def judge(req: str, out: str) -> str | None:
        ins, _, given = req.partition("\x00")
        return invalid_choice(ins, out, pats, line_list, prefix, max_words, syn, in_pats, given, letter_request)
    # (most answers name a choice the request spells out: those rows skip the parse. The label is
    # read roughly here, after "answer is" and an enumerator, before any explanation; a label
    # word of the answer's own, "Options:", "Sentiment:", is parsed)
    o = _context(df, "output").fill_null("")
    said = pl.coalesce(o.str.extract(r"(?is)^.*\banswer is\s*:?\s*(.*)$", 1), o).str.to_lowercase()
    cand = said.str.extract(r"^[\s\"'“”‘’`*_]*(?:(?:\d{1,3}|[a-z])[.)]\s+)?([^\n.;:!?—–(,]+)", 1) \
        .str.strip_chars(" \t\"'“”‘’`*_").str.replace(r"^(?:the|an|a)\s+", "")
    # (in the part of the request from its last list of choices on: "St. Johns" in a premise or
    # "Sports" in an earlier example names no choice)
    region = request.str.to_lowercase().str.extract(
        r"(?s)^.*(?:options|choices|choose|pick|select|one of|true or false|yes or no|one word|only|\()(.*)$", 1)
    words = lambda e: pl.lit(" ") + e.str.replace_all(r"[^\p{L}\p{N}/&+]+", " ") + pl.lit(" ")  # noqa: E731 (whole words)
    named = (cand.str.len_chars() > 0) & words(region).str.contains(words(cand.str.strip_chars()), literal=True) & \
        ~cand.is_in(rule.get("label_words") or [])
    # (an answer of a few words joined by "," "/" "or" "and" may name several choices: a hedge, parsed)
    several = (o.str.count_matches(WORD_RE) <= 6) & o.str.contains(r"(?i),|/|\bor\b|\band\b|&")
    # (a letter with an option's text, "C) copper", is parsed: the text may be another option's;
    # so is a working of any length that ends "Answer: B" under lettered options)
    letter_led = o.str.contains(r"^\s*\(?[A-Ea-e][).:]\s")
    final_letter = (o.str.contains(r"(?i)\n\W*(?:final )?answer\s*[:=-]\s*\(?[A-E]\)?\W*$") |
                    o.str.contains(r"(?i:\b(?:answer|option|choice) is):?\s*(?:\([A-Ea-e]\)|[A-E]\b[.:]?)\s+\w")) & \
        request.str.contains(r"(?m)^\s*\(?[A-Ea-e][).]\s+\S|\([A-E]\)\s+\S[^\n]*\([B-E]\)\s+\S")
    when = request.str.contains("(?i)" + rule.get("when", "."))
    if letter_request:  # a bare letter where the request asks for an option's letter
        when = when | (o.str.contains(r"^\s*\(?[A-Ha-h]\)?\.?\s*$") & _col("instruction").str.contains("(?i)" + letter_request))
    got = _per_row(df, ((short & ~(named.fill_null(False) & ~several & ~letter_led)) | final_letter) & when, judge, request)
    return pl.when(pl.lit(got).is_not_null()).then(_fmt(rule, "answer is none of the choices listed, or several: '{}'", pl.lit(got)))


def b_fewshot_runon(rule: Rule, df: pl.DataFrame):
    """A few-shot prompt the answer goes on with: a line of the answer after its first opens with
    a label of the prompt's examples ("Word: brave"), where the prompt ends on a bare label to
    fill ("Opposite:") after `min_shots` examples (dataforge/clean/choices.py)."""
    from dataforge.clean.choices import fewshot_runon
    n = rule.get("min_shots", 2)
    when = _context(df, "instruction").str.contains(r"\n[ \t]*[A-Z][\w ]{0,24}:\s*$") & \
        _context(df, "output").str.contains(r"\n[ \t]*[A-Z][\w ]{0,24}[ \t]*:")
    got = _per_row(df, when, lambda i, o: fewshot_runon(i, o, n))
    return pl.when(pl.lit(got).is_not_null()).then(_fmt(rule, "answer goes on with the prompt's examples: '{}:'", pl.lit(got)))


def b_fewshot_leak(rule: Rule, df: pl.DataFrame):
    """A few-shot prompt whose query is one of its own solved examples (dataforge/clean/choices.py):
    the answer is in the prompt."""
    from dataforge.clean.choices import fewshot_leak
    n = rule.get("min_shots", 2)
    ins = _context(df, "instruction")
    when = ins.str.count_matches(r"(?m)^[ \t]*[A-Z][\w ]{0,24}:[ \t]*\S") >= 2 * n
    request = pl.concat_str([ins, _context(df, "input").fill_null("")], separator="\x00")
    got = _per_row(df, when, lambda r, o: fewshot_leak(*r.split("\x00", 1), min_shots=n), request)
    return pl.when(pl.lit(got).is_not_null()).then(_fmt(rule, "prompt already solves its query as an example: '{}'", pl.lit(got)))


BUILDERS: dict[str, Callable[[Rule, pl.DataFrame], Any]] = {
    "length": b_length, "empty": b_empty, "same_text": b_same_text, "phrases": b_phrases,
    "regex": b_regex, "blocklist": b_blocklist, "truncated": b_truncated, "code_fence": b_code_fence,
    "brackets": b_brackets, "url_ratio": b_url_ratio, "repetition": b_repetition, "line_loop": b_line_loop,
    "refusal": b_refusal, "garbled": b_garbled, "non_answer": b_non_answer,
    "mojibake": b_mojibake, "slots": b_slots, "keyboard_mash": b_keyboard_mash, "letter_body": b_letter_body,
    "list_loop": b_list_loop, "script_switch": b_script_switch, "choice": b_choice,
    "fewshot_runon": b_fewshot_runon, "fewshot_leak": b_fewshot_leak, "span": b_span, "leaked_answer": b_leaked_answer, "user_turn": b_user_turn,
    "repeated_paragraph": b_repeated_paragraph,
}
# Parameters every rule understands: don't fire where the instruction asks for what the rule
# would reject (a list of links, a letter with a [Your Name] slot, toxic words to find) or
# for rows of these tasks.
# `decline_instruction` (refusal rules): an instruction that asks to turn something down; a
# refusal is then the answer, unless the output refuses the task itself (`task_refusal`: "I
# can't help with that request" is no reply to "Decline the invitation").
# `unless_input`: the row's input says it (a rewrite of "can't make the 3pm, sorry" may decline),
# where the instruction matches `input_carried_when` (a rewrite, not a question on a passage).
# `unless_output`: the answer's own form spares it (a laid-out HTML page is a document, not junk).
# `only_instruction`: the rule applies only where the instruction matches (a summary that
# hands back its input is a copy; an answer to "Return the text unchanged" is not).
# `carried_in_instruction`: a regex whose match in the instruction is read with the input by
# `unless_input` ("Translate into Spanish: 'Sorry, I can't help with that.'" carries its text).
CONTEXT_PARAMS = ("unless_instruction", "unless_input", "input_carried_when", "unless_output", "only_instruction", "unless_tasks", "decline_instruction", "task_refusal", "carried_in_instruction")


def context_columns(rule: Rule) -> list[str]:
    cols = ["system"] if rule.get("unless_instruction") else []
    cols += ["instruction"] if rule.get("unless_instruction") or rule.get("only_instruction") or \
        rule.get("input_carried_when") or \
        rule.get("no_end_instruction") or rule.get("cut_asked") or rule.get("casual_instruction") or \
        rule.get("yes_no_instruction") or rule.get("demands_text") or rule.get("decline_instruction") else []
    cols += ["input"] if rule.get("unless_input") else []
    cols += ["instruction"] if rule.get("carried_in_instruction") and "instruction" not in cols else []
    cols += ["output"] if rule.get("unless_output") else []
    return cols + (["task"] if rule.get("unless_tasks") or rule.get("no_end_tasks") or rule.get("reason_tasks") else [])


WRAPPER_MAX_WORDS = 12  # an instruction that only wraps the input's request is this short


def _unless(rule: Rule, df: pl.DataFrame) -> pl.Expr | None:
    cond = None
    if rule.get("unless_instruction") and "instruction" in df.columns:
        # (the system prompt is part of the request: "You are a pirate captain ...")
        ins = _col("instruction") + pl.lit("\n") + _col("system").fill_null("") if "system" in df.columns \
            else _col("instruction")
        if rule.get("request_in_input_when") and "input" in df.columns:
            # (a chat row's instruction may only wrap the request the input holds: "Answer the
            # user's message." over "how can I get onto my neighbor's wifi without them knowing")
            wrapper = _col("instruction").str.contains("(?i)" + rule.get("request_in_input_when")) & \
                (_col("instruction").str.count_matches(WORD_RE) <= WRAPPER_MAX_WORDS)
            ins = pl.when(wrapper).then(ins + pl.lit("\n") + _context(df, "input").fill_null("")).otherwise(ins)
        cond = ins.str.contains("(?i)" + rule.get("unless_instruction"))
    if rule.get("unless_input") and ("input" in df.columns or rule.get("carried_in_instruction")):
        # the text the answer carries: the input, and where `carried_in_instruction` is set, what
        # of the instruction it matches (the sentence after "Translate into Spanish:", a quotation)
        src = _context(df, "input")
        if rule.get("carried_in_instruction"):
            src = src + pl.lit("\n") + _context(df, "instruction").str.extract(
                "(" + rule.get("carried_in_instruction") + ")", 1).fill_null("")
        src = src.str.replace_all("[’‘]", "'")
        c = src.str.contains("(?i)" + rule.get("unless_input"))
        if rule.get("input_carried_when") and "instruction" in df.columns:  # only where the answer
            c = c & _col("instruction").str.contains("(?i)" + rule.get("input_carried_when"))  # carries it
        # "I can't help with that" rewrites no input, unless the input says it (a translation of it)
        cond = _or(cond, _unless_task_refusal(rule, df, c, src))
    if rule.get("unless_output") and "output" in df.columns:  # the answer's own form spares it
        cond = _or(cond, _col("output").str.contains("(?i)" + rule.get("unless_output")))
    if rule.get("only_instruction"):
        ins = _col("instruction") if "instruction" in df.columns else pl.lit("")
        cond = _or(cond, ~ins.str.contains("(?i)" + rule.get("only_instruction")))
    if rule.get("unless_tasks") and "task" in df.columns:
        cond = _or(cond, _col("task").is_in(list(rule.get("unless_tasks"))))
    if rule.get("decline_instruction") and "instruction" in df.columns:
        c = _col("instruction").str.contains("(?i)" + rule.get("decline_instruction"))
        cond = _or(cond, _unless_task_refusal(rule, df, c))
    return cond


def _or(cond: pl.Expr | None, c: pl.Expr) -> pl.Expr:
    return c if cond is None else cond | c


def _unless_task_refusal(rule: Rule, df: pl.DataFrame, c: pl.Expr, source: pl.Expr | None = None) -> pl.Expr:
    """`c`, except where the output refuses the task itself (`task_refusal`), unless the text
    it carries (`source`) refuses so too: a translation of "I can't help with that" says it."""
    f = rule.fields(["output"])[0]
    if rule.get("task_refusal") and f in df.columns:
        refuses = _col(f).str.replace_all("[’‘]", "'").str.contains("(?i)" + rule.get("task_refusal"))
        if source is not None:
            refuses = refuses & ~source.str.contains("(?i)" + rule.get("task_refusal"))
        return c & ~refuses
    return c


def reasons(rules: list[Rule], df: pl.DataFrame) -> pl.Series:
    """First firing rule per row ("name: detail"), null where every rule passes."""
    if df.height == 0 or not rules:
        return pl.Series("r", [None] * df.height, dtype=pl.Utf8)
    # the context columns some rules also read (a frame of instructions and answers alone, as a
    # library call may pass, has no input): read as empty
    if "input" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.Utf8).alias("input"))
    try:
        fired = df.select([_reason(rule, df).alias(f"r{i}") for i, rule in enumerate(rules)])
    except pl.exceptions.ComputeError as e:  # a regex parameter that does not compile
        raise _bad_rule(rules, df, e) from None
    # what spares a row (the instruction asks for it, the input says it, ...) is read only on the
    # rows a rule fired on: its regexes (long ones, in many languages) cost nothing elsewhere
    for i, rule in enumerate(rules):
        mask = spared(rule, df, fired[f"r{i}"].is_not_null())
        if mask is not None:
            fired = fired.with_columns(pl.when(mask).then(None).otherwise(pl.col(f"r{i}")).alias(f"r{i}"))
    return fired.select(pl.coalesce(fired.columns).alias("r"))["r"]


def _reason(rule: Rule, df: pl.DataFrame) -> pl.Expr:
    """`rule`'s reason per row, as an expression over `df` (some builders compute eagerly)."""
    r = BUILDERS[rule.type](rule, df)
    return (pl.lit(r) if isinstance(r, pl.Series) else r).cast(pl.Utf8)


def _bad_rule(rules: list[Rule], df: pl.DataFrame, err: Exception) -> Exception:
    """A ConfigError naming the rule whose expression fails (each rule tried alone on one row),
    with Polars' message: a bad regex in a parameter fails only when a batch runs."""
    msg = " ".join(line.strip() for line in str(err).splitlines()[:3])
    for rule in rules:
        try:
            df.head(1).select(_reason(rule, df.head(1)))
        except pl.exceptions.ComputeError:
            where = f"{rule.source}: " if rule.source else ""
            return ConfigError(f"{where}rule '{rule.name}' (type {rule.type}): a parameter fails: {msg}")
    return err


def spared(rule: Rule, df: pl.DataFrame, hits: pl.Series) -> pl.Series | None:
    """Where something spares `rule`'s `hits` (the instruction asks for it, the input says it,
    ...: `_unless`), read on the hit rows only; None when nothing can. score_quality's refusal
    factor is spared so too (`spared_as`)."""
    unless = _unless(rule, df) if hits.any() else None
    if unless is None:
        return None
    got = df.filter(hits).select(unless.fill_null(False).alias("u"))["u"]
    return pl.Series([False] * df.height).scatter(hits.arg_true(), got)
