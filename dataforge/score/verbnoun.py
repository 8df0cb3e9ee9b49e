"""Verb–noun pairs of instructions, as in Self-Instruct's diversity analysis (Fig. 2).

No parser model can be downloaded here, so this is rule-based: the verb is the first word
(within the first `window` words) whose lemma is in rules/score/verbs.txt; the noun is the
first following word that is not in rules/score/noun_skip.txt (determiners, pronouns,
prepositions, common adjectives). It recovers the imperative "Write a poem" shape that
dominates instruction data; questions ("What is ...?") get no pair, as in the paper,
where instructions without a verb–object root were left out.
"""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_words

VERBS = "score/verbs.txt"
SKIP = "score/noun_skip.txt"


def _lemma_table(verbs: tuple[str, ...]) -> dict[str, str]:
    """Map inflected forms (writes, written is missed, writing, wrote is missed) to the lemma."""
    out: dict[str, str] = {}
    for v in verbs:
        stem = v[:-1] if v.endswith("e") else v
        for form in (v, v + "s", v + "es", stem + "ed", stem + "ing", v[:-1] + "ies" if v.endswith("y") else v):
            out.setdefault(form, v)
    return out


def verb_noun(instructions: pl.Series, window: int = 6) -> pl.DataFrame:
    """One row per instruction: verb and noun (null when none is found)."""
    lemmas = _lemma_table(load_words(VERBS))
    skip = set(load_words(SKIP))
    # the verb is among the first `window` words and its noun right after it: the head of the
    # text holds both, so instructions that carry a passage cost no more than short ones
    # (identical pairs on the quickstart's 6,500 instructions and Alpaca's 1,550)
    head = instructions.fill_null("").str.slice(0, 400)
    toks = head.str.to_lowercase().str.extract_all(r"[a-z][a-z'-]*")
    df = pl.DataFrame({"tok": toks}).with_row_index("row").explode("tok").drop_nulls("tok")
    df = df.with_columns(pos=pl.int_range(pl.len()).over("row"),
                         prev=pl.col("tok").shift(1).over("row"))
    # "a list of", "the answer": after a determiner the word is a noun, not the verb
    is_verb = pl.col("tok").is_in(list(lemmas)) & ~pl.col("prev").fill_null("").is_in(["a", "an", "the"])
    verbs = (df.filter((pl.col("pos") < window) & is_verb)
             .group_by("row").agg(pl.col("pos").min().alias("vpos")))
    df = df.join(verbs, on="row", how="inner")
    first_verb = df.filter(pl.col("pos") == pl.col("vpos")).select(
        "row", pl.col("tok").replace_strict(lemmas, default=None).alias("verb"))
    # a verb-lexicon word is a noun after a determiner ("a list"), else a second verb ("and contrast")
    nouns = (df.filter((pl.col("pos") > pl.col("vpos")) & ~pl.col("tok").is_in(list(skip)) & ~is_verb)
             .group_by("row").agg(pl.col("tok").sort_by("pos").first().alias("noun")))
    base = pl.DataFrame({"row": pl.int_range(0, len(instructions), eager=True).cast(pl.UInt32)})
    return (base.join(first_verb, on="row", how="left").join(nouns, on="row", how="left")
            .sort("row").select("verb", pl.when(pl.col("verb").is_not_null()).then(pl.col("noun")).alias("noun")))


def summary(pairs: pl.DataFrame, top_verbs: int = 20, nouns_per_verb: int = 4) -> dict:
    """Counts for the report: distinct verbs/pairs, top verbs with their top nouns."""
    have = pairs.drop_nulls(["verb", "noun"])
    counts = have.group_by("verb", "noun").len().sort("len", descending=True)
    verbs = have.group_by("verb").len().sort(["len", "verb"], descending=[True, False]).head(top_verbs)
    tree = []
    for verb, n in verbs.iter_rows():
        top = (counts.filter(pl.col("verb") == verb)
               .sort(["len", "noun"], descending=[True, False]).head(nouns_per_verb))
        tree.append({"verb": verb, "count": int(n),
                     "nouns": [{"noun": a, "count": int(b)} for a, b in top.select("noun", "len").iter_rows()]})
    total = pairs.height
    return {
        "rows": total,
        "rows_with_pair": have.height,
        "share_with_pair": round(have.height / total, 4) if total else 0.0,
        "distinct_verbs": int(have["verb"].n_unique()),
        "distinct_pairs": int(counts.height),
        "top": tree,
    }
