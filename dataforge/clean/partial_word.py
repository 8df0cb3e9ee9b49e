"""A text cut inside its last word: "... were 1.6 times more likely to report sympt".

Generation that hits its token limit, and text cut at a character count, often stop inside a
word. Such a last word is no word, but the start of a frequent one. The test, for the
truncated rule (dataforge/clean/rules.py):

- the text ends on a lower-case ASCII word of two letters or more, with no mark after it and
  none joined before it ("honey-mus", "l'hom" and "*.py" are left alone), and no number right
  before it (a unit: "0.409 mol");
- that word is the start of a word in `starts` (frequent words) and is no word of `known`
  (those, the WordNet table, shortened forms), nor an inflection of one ("yellows", "tried")
  or the base of one ("symptom" of "symptoms");
- the text reads as English: `min_share` of its other words (two letters or more) are frequent
  words, and so are half of its last line's other words ("Dominus illuminatio mea" under an
  English lead-in is Latin).
"""
from __future__ import annotations

import functools

import polars as pl

# suffixes of inflected and derived forms, and what the stem may have lost ("tried" <- "try")
SUFFIXES = ("s", "es", "ed", "d", "ing", "ly", "er", "ers", "est", "ness", "ment", "ful", "ish",
            "y", "ies", "ied", "ier", "iest", "ily")
# after a blank, an opening quote or bracket, or a dash: not after ".", "/", "-", "'" ("*.py",
# "and/or", "honey-mus", "l'hom": an extension, a path, a part of a joined word)
LAST_WORD = r"(?:^|[\s\"“‘(\[«—–])([a-z]{2,})$"
AFTER_NUMBER = r"\d\W?\s*[a-z]{2,}$"


def _inflected(w: str, known: frozenset[str], frequent: frozenset[str]) -> bool:
    """An inflected or derived form of a known word ("yellows"), or the base of one ("symptom"
    of "symptoms", "encode" of "encoded": a frequent word list holds only some forms)."""
    # ("d", "r" only after a longer stem in "e": "encode" of "encoded", but "sle" is no base of "sled")
    ends = ("s", "es", "ed", "ing", "er", "ly") + (("d", "r") if w.endswith("e") and len(w) >= 5 else ())
    if any(w + s in frequent for s in ends):
        return True
    for s in SUFFIXES:
        if w.endswith(s) and len(w) > len(s) + 2:
            stem = w[: -len(s)]
            if stem in known or stem + "e" in known or (s[0] == "i" and stem + "y" in known) or \
                    (stem[-1] == stem[-2] and stem[:-1] in known):  # "stopped" <- "stop"
                return True
    return False


@functools.lru_cache(maxsize=4)
def word_starts(starts: tuple[str, ...], known: tuple[str, ...]) -> tuple[pl.Series, pl.Series]:
    """(the starts of frequent words that are no known word, the frequent words)."""
    frequent = frozenset(starts)
    words = frequent | frozenset(known)
    pre = {w[:k] for w in starts for k in range(2, len(w))} - words
    cut = sorted(p for p in pre if not _inflected(p, words, frequent))
    return pl.Series(cut, dtype=pl.Utf8), pl.Series(sorted(frequent), dtype=pl.Utf8)


def _share(texts: pl.Series, frequent: pl.Series) -> pl.Series:
    toks = texts.str.to_lowercase().str.extract_all(r"[a-z]{2,}")  # (the list has no one-letter words)
    return toks.list.eval(pl.element().is_in(frequent.implode())).list.mean()


def ends_inside_a_word(texts: pl.Series, starts: tuple[str, ...], known: tuple[str, ...],
                       min_share: float = 0.7) -> pl.Series:
    """Per text: True where it stops inside its last word (see the module's docstring)."""
    cut, frequent = word_starts(starts, known)  # (rules.WordList: hashed once, shared)
    t = texts.fill_null("").str.strip_chars()
    cand = (t.str.extract(LAST_WORD, 1).is_in(cut.implode()) & ~t.str.contains(AFTER_NUMBER)).fill_null(False)
    idx = cand.arg_true()
    out = pl.Series("partial", [False] * len(t), dtype=pl.Boolean)
    if len(idx) == 0:
        return out
    sub = t.gather(idx).str.replace(r"[a-z]+$", "")  # the words before the cut one
    line_rest = sub.str.extract(r"([^\n]*)$", 1)
    ok = (_share(sub, frequent) >= min_share) & _share(line_rest, frequent).fill_null(1.0).ge(0.5)
    return out.scatter(idx, ok.fill_null(False))
