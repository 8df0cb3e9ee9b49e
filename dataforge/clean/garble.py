"""Garbled text (the right words in a scrambled order), from function-word transitions.

English fixes the order of its closed-class words: a determiner is followed by a noun or an
adjective, not by "of", "and", "is" or a full stop; a preposition is not followed by "and" or
a comma; a cased text starts each sentence with a capital. Shuffled words break these
constraints at a rate that ordinary text - lists, lyrics, code, lowercased e-SNLI
explanations - almost never reaches. Pure function of a text column (Polars expressions,
no model), so filters (`garbled` rule type) and scores can share it.
"""
from __future__ import annotations

import polars as pl

from dataforge.paths import RULES
from dataforge.rulefiles import parse_yaml
from dataforge.words import INLINE_ENUM_RE, KISSES_RE, QUOTED_RE

WORDS_FILE = RULES / "filters" / "function_words.yaml"
_CLASSES: dict[str, str] | None = None
# (class of a token, class of the next) that well-formed English does not produce
BAD = {("DET", "DET"), ("DET", "PREP"), ("DET", "CONJ"), ("DET", "AUX"), ("DET", "PRON"), ("DET", "END"),
       ("DET", "COMMA"), ("PREP", "CONJ"), ("PREP", "COMMA"), ("PREP", "END"), ("CONJ", "END"),
       ("CONJ", "CONJ"), ("CONJ", "COMMA"), ("PRON", "DET"), ("AUX", "END"), ("COMMA", "END"),
       ("PREP", "PREP"), ("PRON", "PRON"), ("AUX", "AUX"), ("PERF", "AUX"), ("PREP", "AUX"),
       ("END", "lower"), ("word", "Capital")}


# ... of which these also occur in fluent English: a main-verb "is" ending a clause ("how bad
# it is."), "but," / "and," as discourse markers, a stranded preposition ("made with."), "with
# or without". They count toward a long text's rate, but one alone does not make a short text garbled.
WEAK = {("AUX", "END"), ("CONJ", "COMMA"), ("PREP", "END"), ("PREP", "COMMA"), ("PREP", "CONJ")}


# a text where at least this share (and number) of its words glue letters to digits is notation
NOTATION_SHARE = 0.3
NOTATION_MIN = 3


def classes() -> dict[str, str]:
    """word -> class (DET, PREP, CONJ, AUX, PERF, PRON) from rules/filters/function_words.yaml."""
    global _CLASSES
    if _CLASSES is None:
        doc = parse_yaml(WORDS_FILE.read_text(encoding="utf-8"), str(WORDS_FILE))
        _CLASSES = {w.lower(): cls for cls, words in doc.items() if cls not in ("OPENER", "ABBREV") for w in words}
    return _CLASSES


def abbreviations() -> list[str]:
    doc = parse_yaml(WORDS_FILE.read_text(encoding="utf-8"), str(WORDS_FILE))
    return [str(w).lower() for w in doc.get("ABBREV", [])]


def openers() -> list[str]:
    doc = parse_yaml(WORDS_FILE.read_text(encoding="utf-8"), str(WORDS_FILE))
    return [str(w).capitalize() for w in doc.get("OPENER", [])]


def _sh(e: pl.Expr, k: int) -> pl.Expr:
    """`e` of the token k places on, within the same text (null across texts): tokens lie in
    text order, so a plain shift masked where the text changes equals a windowed shift, faster."""
    return pl.when(pl.col("row").shift(k) == pl.col("row")).then(e.shift(k))


# the last texts measured and their stats: score_quality reads them twice on one batch (its
# garble factor and the `garbled` detector rule), and they cost 1-2.5 s per 10k answers here
_LAST: tuple[pl.Series, pl.DataFrame] | None = None


def garble_stats(texts: pl.Series) -> pl.DataFrame:
    """Per text: `tokens` (words and , . ! ? tokens), `bad` (implausible transitions) and
    `weak` (those of them in WEAK)."""
    global _LAST
    last = _LAST
    if last is not None and last[0].len() == texts.len() and last[0].equals(texts, check_names=False,
                                                                          check_dtypes=True):
        return last[1].clone()
    out = _garble_stats(texts)
    _LAST = (texts, out)
    return out.clone()


def _garble_stats(texts: pl.Series) -> pl.DataFrame:
    cls = classes()
    # links, e-mail addresses and domains are not words: their dots are not full stops
    links = r"(?i)(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+|\b[\w-]+\.(?:com|org|net|edu|gov|io|co|uk)\b\S*"
    # an ellipsis (". . ." in tokenised corpora) trails off, it does not end a sentence: "but ..."
    t = pl.DataFrame({"t": texts.fill_null("").str.replace_all(links, " | ")
                      # a quotation is someone else's word order, often another language's:
                      # „Was du tun kannst ... fang es an!“ reads as garbled English
                      .str.replace_all(QUOTED_RE, " | ")
                      # kisses after a message's last sentence ("Thanks so much!! xx") start none
                      .str.replace_all(rf"(?i)([!.?])[ \t]*{KISSES_RE}[ \t]*$", "$1")
                      .str.replace_all(r"\.(?:\s*\.){2,}|…", " ~ ")
                      # dotted abbreviations ("i.e.", "e.g.", "U.S.", "a.m.") are one word, not two sentences
                      .str.replace_all(r"\b([A-Za-z])\.([A-Za-z])\.", "$1$2")
                      # a mark glued to the next word ("file.txt", "k7#Rp2!vQx9z") ends no sentence
                      .str.replace_all(r"[.!?]+([A-Za-z0-9])", " ^ $1")
                      # a line of short numbered items ("**Answer key:** 1. went 2. wrote 3. ate") is
                      # a list of words: its numbers' dots end no sentences
                      .str.replace_all("(?m)" + INLINE_ENUM_RE, " | ")
                      # nor a list item's number at the start of its line ("1. ben (gaan ...)")
                      .str.replace_all(r"(?m)^([ \t]*)[0-9]{1,3}[.)][ \t]+", "$1| ")
                      # a German or Nordic date ordinal ("vom 9. auf den 10. November", "den 3. maj")
                      # ends no sentence (after those languages' prepositions and articles only:
                      # a full stop after a number and before a lower-case word is a garbling sign)
                      .str.replace_all(r"\b((?:vom|am|den|dem|zum|bis|ab|seit|um|im|der|die|das|des|per)[ \t]+[0-9]{1,2})\.([ \t]+\p{Ll})", "$1$2")}).with_row_index("row")
    # a word of another script (Cyrillic, Hangul, accented Latin) is a word with no English class,
    # not a gap: without it "김치, 불고기, ... 음식입니다." read as ", , ." (a comma then a full stop)
    toks = t.select("row", pl.col("t").str.extract_all(
        r"\b[A-Za-z][.)](?:\s|$)|[A-Za-z][A-Za-z']*(?:[^\W\d_A-Za-z][\p{L}\p{M}']*)?|[^\W\d_][\p{L}\p{M}']*"
        r"|[.!?]+|,|\n|[0-9]+|[^\w\s.!?,]").alias("w")).explode("w")
    toks = toks.drop_nulls("w")
    w = pl.col("w")
    lower = w.str.to_lowercase()
    # a cased text (some capitalised word) should capitalise after a full stop
    cased = toks.group_by("row").agg(pl.col("w").str.contains(r"^[A-Z][a-z]").any().alias("cased"))
    toks = toks.join(cased, on="row", how="left", maintain_order="left").with_columns(
        lower.replace_strict(cls, default=None, return_dtype=pl.Utf8).alias("base"),
        w.str.contains(r"^[a-z]").alias("low"))
    after_word = (_sh(pl.col("low"), 1) | (_sh(w, 1) == ",")).fill_null(False)
    c = (pl.when(w.str.contains(r"^[.!?]+$")).then(pl.lit("END"))
         .when(w == ",").then(pl.lit("COMMA"))
         .when(~w.str.contains(r"^[A-Za-z']+$") & ~w.str.contains(r"^\p{L}")).then(pl.lit("SYM"))  # newline, digit, markup: breaks a pair
         .when(w == "A").then(pl.lit(None, dtype=pl.Utf8))  # "A" is also a label, a grade, a variable
         # the pronoun is "I" in a cased text: "i" there is an index or a numeral ("the i-th", "i–VI")
         .when((w == "i") & pl.col("cased")).then(pl.lit(None, dtype=pl.Utf8))
         # a capitalised auxiliary inside a sentence is a name: "the 5th of May", "back to Am", "Will Smith"
         .when(pl.col("base").is_in(["AUX", "PERF"]) & ~pl.col("low") & after_word & w.str.contains(r"^[A-Z][a-z]+$"))
         .then(pl.lit(None, dtype=pl.Utf8))
         .otherwise(pl.col("base")))
    toks = toks.with_columns(c.alias("c"), w.is_in(openers()).alias("opener"))
    nxt = _sh(pl.col("c"), -1)
    nxt_low = _sh(pl.col("low"), -1)
    pair = pl.concat_str([pl.col("c"), nxt], separator="|")
    bad_pairs = [f"{a}|{b}" for a, b in BAD if b != "lower"]
    # a sentence opener ("However", "The", "It") right after a lower-case word: a shuffled start
    # ("A" only as an article, before a lower-case word: "networks A and B", "using A*" name things)
    article_a = (_sh(pl.col("w"), -1) == "A") & \
        _sh(pl.col("w"), -2).str.contains(r"^[a-z]") & _sh(pl.col("c"), -2).is_null()
    nxt_opener = _sh(pl.col("opener"), -1).fill_null(False) | \
        ((_sh(pl.col("w"), -1).is_in(["The", "An"]) | article_a).fill_null(False) &
         ~_sh(pl.col("w"), -2).str.contains(r"^[A-Z]").fill_null(False))  # "The Cat Concerto": a title
    # pairs of the BAD classes that are fine here: "a" as a variable or label ("a, b and c"),
    # a possessive before "every" ("its every nuance", "his every move")
    variable_a = (pl.col("w") == "a") & nxt.is_in(["COMMA", "END", "CONJ", "AUX", "PERF"]).fill_null(False)
    possessive_every = lower.is_in(["my", "your", "his", "her", "its", "our", "their"]) & \
        (_sh(pl.col("w"), -1).str.to_lowercase() == "every").fill_null(False)
    bad = (pair.is_in(bad_pairs).fill_null(False) & ~variable_a & ~possessive_every) | \
        ((pl.col("c") == "END") & nxt_low.fill_null(False) & pl.col("cased") &
         ~_sh(pl.col("w"), 1).str.to_lowercase().is_in(abbreviations()).fill_null(False)) | \
        (pl.col("low") & pl.col("c").is_null() & nxt_opener &
         # (a letter with its mark, an item's "b)" or a variable ending its sentence, "Let the
         # width be w. Then ...", is followed by a capital as any sentence is)
         ~w.str.contains(r"^[A-Za-z][.)]"))
    weak = bad & pair.is_in([f"{a}|{b}" for a, b in WEAK]).fill_null(False)
    agg = toks.with_columns(bad.alias("bad"), weak.alias("weak"), (pl.col("c").fill_null("") != "SYM").alias("tok")) \
        .group_by("row").agg(pl.col("tok").sum().alias("tokens"), pl.col("bad").sum(), pl.col("weak").sum())
    # notation is no prose: where words glue letters to digits ("1. e4 e5 2. Nf3", "Am – E7",
    # "C6H12O6"), its dots and capitals follow the notation, not English sentences
    counts = t.select(pl.col("t").str.count_matches(r"\S*[A-Za-z]\S*").alias("w"),
                      pl.col("t").str.count_matches(r"[A-Za-z][0-9]|[0-9][A-Za-z]").alias("g"))
    # (a count of the places where letters and digits touch: a word like "C6H12O6" counts several)
    notation = (counts["g"] >= NOTATION_MIN) & (counts["g"] >= NOTATION_SHARE * counts["w"])
    return t.select("row").join(agg, on="row", how="left").sort("row").select(
        pl.col("tokens").fill_null(0),
        pl.when(pl.lit(notation)).then(0).otherwise(pl.col("bad").fill_null(0)).cast(pl.Int64).alias("bad"),
        pl.when(pl.lit(notation)).then(0).otherwise(pl.col("weak").fill_null(0)).cast(pl.Int64).alias("weak"))


def garble_score(texts: pl.Series) -> pl.Series:
    """Implausible transitions per token, in [0, 1] (0 for texts without tokens)."""
    s = garble_stats(texts)
    return s.select((pl.col("bad") / pl.col("tokens").clip(lower_bound=1)).alias("garble"))["garble"]
