"""An answer that only restates the request (score_quality): "The question is which weighs
more: a kilogram of feathers or a kilogram of steel." to that question, "You want a Python
function that removes duplicates ..." to that request. It opens with a frame that reports the
request (`opener`), is one sentence, and nearly all its content words come from the request.
Or it goes round in a circle without a frame (`circular`): "To list the hidden files in a
directory on Linux, you need to use a command that lists hidden files." to "What command lists
hidden files in a directory on Linux?": every content word but one comes from the instruction
(stems: "obliged" is "obligations"), and nothing else is said: no number, no code, no name.
Settings: `restated_request` in rules/score/quality.yaml."""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_words


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
    framed = (out.str.contains(c["opener"]) & one_sentence & (ow.list.len() >= 3)
              & (share >= float(c.get("min_share", 0.6)))).fill_null(False)
    return framed | circular(c) | announced(c)


def announced(c: dict) -> pl.Expr:
    """True where the answer only announces what it will say ("This response will explain how
    vaccines work. It will cover ..."): at least `min_sentences` sentences, at least `share` of
    them describing the answer in the future tense (`pattern`), and no structure (a list, code,
    more than `max_lines` lines) where content might stand."""
    k = c.get("announced")
    if not k:
        return pl.lit(False)
    out = pl.col("output").fill_null("").str.strip_chars()
    sentences = out.str.extract_all(r"[^.!?\n]+[.!?]*").list.eval(
        pl.element().str.strip_chars().filter(pl.element().str.count_matches(r"\p{L}+") >= 3))
    said = sentences.list.eval(pl.element().str.contains(k["pattern"])).list.mean().fill_null(0.0)
    lines = out.str.count_matches(r"(?m)^\s*\S")
    return ((sentences.list.len() >= int(k.get("min_sentences", 2))) & (said >= float(k.get("share", 0.8)))
            & (lines <= int(k.get("max_lines", 2))) & ~out.str.contains(r"```|(?m)^\s*(?:[-*•]|\d+[.)])\s"))


def _stem(e: pl.Expr, stem: int) -> pl.Expr:
    """A word's stem: an inflection off a longer word ("viruses", "described"), then its first
    `stem` letters ("bacterium" and "bacteria" are "bacte")."""
    return e.str.replace(r"^(\p{L}{5,}?)(?:ies|es|s|ed|ing)$", "$1").str.slice(0, stem)


def _stems(e: pl.Expr, stops: list[str], min_len: int, stem: int) -> pl.Expr:
    """The distinct stems of the words of at least `min_len` letters that are not in `stops`
    (stems themselves: see `_stop_stems`)."""
    return e.fill_null("").str.to_lowercase().str.extract_all(r"\p{L}+").list.eval(
        _stem(pl.element().filter(pl.element().str.len_chars() >= min_len), stem)).list.eval(
        pl.element().filter(~pl.element().is_in(stops))).list.unique()


def _stop_files(k: dict) -> list[str]:
    files = k.get("stopwords") or []
    return [files] if isinstance(files, str) else list(files)


def _stop_stems(k: dict, stem: int) -> list[str]:
    words = sorted({w for f in _stop_files(k) for w in load_words(f)})
    return pl.Series(words, dtype=pl.Utf8).to_frame("w").select(_stem(pl.col("w"), stem))["w"].unique().to_list()


def word_files(c: dict) -> list[str]:
    """The word files `circular` reads (for fingerprints: a changed list changes the scores)."""
    k = c.get("circular") or {}
    return sorted(set(_stop_files(k)) | ({k["function_words"]} if k.get("function_words") else set()))


def circular(c: dict) -> pl.Expr:
    """True where the answer only says its instruction again in other order (`circular`)."""
    k = c.get("circular")
    if not k:
        return pl.lit(False)
    stem, n = int(k.get("stem", 5)), int(k.get("min_word_letters", 3))
    stop = _stop_stems(k, stem)
    out = pl.col("output").fill_null("").str.strip_chars()
    ins = pl.col("instruction").fill_null("")
    ow = _stems(out, stop, n, stem)
    new = ow.list.set_difference(_stems(ins, stop, n, stem)).list.len()
    # a name the instruction did not have (capitalised inside a sentence) is an answer: "... is Jupiter."
    names = out.str.extract_all(r"[^.!?\s][ \t]+\p{Lu}\p{Ll}+").list.eval(
        pl.element().str.extract(r"(\p{Lu}\p{Ll}+)$", 1))
    named = _stems(names.list.join(" "), [], 1, stem).list.set_difference(_stems(ins, [], 1, stem)).list.len() > 0
    sentences = out.str.count_matches(r"[.!?](?:\s|$)")
    # long enough to be an answer: `min_words` words that are not function words, repeats counted
    words = out.str.to_lowercase().str.extract_all(r"\p{L}{%d,}" % n).list.eval(
        pl.element().filter(~pl.element().is_in(load_words(k["function_words"])))).list.len()
    return ((words >= int(k.get("min_words", 6))) & (ow.list.len() >= 2) & (new <= int(k.get("max_new", 0)))
            & (sentences <= int(k.get("max_sentences", 2))) & ~named
            & ~out.str.contains(k["says_something"]) & ~ins.str.contains(k["unless_instruction"])).fill_null(False)
