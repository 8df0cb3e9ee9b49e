"""Good rows in other languages and scripts are kept and scored as finished.

benchmarks/quality_data/multilingual_zoo.jsonl: 35 hand-written rows in Chinese, Japanese,
Korean, Thai, Arabic, Hindi, Russian, German, Spanish, French and Vietnamese, and English
requests for translations into them (`lang`: the language of the request). A new user's
first run on them found three misjudgments: `garbled` read the commas and full stop of a
Korean or Russian sentence as ", , ." (its words were not tokens), so the rule dropped the
row and score_quality gave 0.12; and words were runs of non-spaces, so a Thai request (no
spaces between words) had one word: `instruction_too_short`, and `length` in words, dropped
it, and score_clarity gave 0.27.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from dataforge import op
from dataforge.clean.garble import garble_stats
from dataforge.ops.base import RunContext
from dataforge.ops.filters import RuleFilter
from dataforge.words import WORD_RE

ZOO = Path(__file__).parents[1] / "benchmarks" / "quality_data" / "multilingual_zoo.jsonl"


def _zoo() -> pl.DataFrame:
    z = pl.read_ndjson(ZOO)
    return z.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), input=pl.lit(""), meta=pl.lit(None, pl.Utf8),
                          task=pl.lit(None, pl.Utf8), system=pl.lit(None, pl.Utf8), source=pl.lit("zoo"))


def _run(name: str, df: pl.DataFrame, **params) -> pl.DataFrame:
    o = op(name, **params).bind(RunContext())
    o.ensure_setup()
    return o.process(df)


def test_default_rules_keep_every_multilingual_row():
    zoo = _zoo()
    assert zoo.height == 35 and zoo["lang"].n_unique() >= 11
    r = RuleFilter().reasons(zoo)
    flagged = zoo.with_columns(r.alias("r")).filter(pl.col("r").is_not_null())
    assert flagged.height == 0, flagged.select("instruction", "r").to_dicts()


def test_scores_treat_other_scripts_as_finished_text():
    zoo = _zoo()
    for name in ("score_quality", "score_clarity"):
        s = _run(name, zoo)[name]
        low = [(i, round(v, 2)) for i, v in zip(zoo["instruction"], s) if v < 0.6]
        assert not low, (name, low)


def test_words_of_scripts_without_spaces_count_as_words():
    n = pl.Series(["ประเทศไทยมีกี่จังหวัด",  # five Thai words
                   "请用三句话介绍一下长城。",  # eleven Han characters and the full stop
                   "ខ្ញុំស្រលាញ់អ្នក",  # Khmer, three words
                   "Write a poem about rain.", "Назови три крупнейших города России."]).str.count_matches(WORD_RE)
    assert n.to_list()[0] in range(4, 9) and n[1] == 12 and n[2] in range(2, 5)
    assert n.to_list()[3:] == [5, 5]  # a text with spaces counts as before
    # the quickstart's `length` on instruction words (min 3) keeps every request of the zoo
    kept = _run("length", _zoo(), field="instruction", unit="words", min=3)
    assert kept["_reject"].null_count() == kept.height, kept.filter(pl.col("_reject").is_not_null())["instruction"].to_list()


def test_garble_reads_words_of_every_script_but_still_catches_scrambled_english():
    s = garble_stats(pl.Series(["김치, 불고기, 비빔밥이 대표적인 한국 전통 음식입니다.",
                                "Небо кажется голубым, чем красный.",
                                "cat the of sat and . mat the on is the"]))
    assert s["bad"].to_list()[:2] == [0, 0] and s["tokens"][0] == 10
    assert s["bad"][2] >= 2  # the `garbled` rule's min_bad


def test_near_duplicates_in_chinese_differ_by_characters_not_by_clauses():
    # `\w+` read a Chinese clause as one word: two answers one character apart shared no shingle
    base = ("长城是中国古代修建的军事防御工程，全长两万多公里。它始建于春秋战国时期，明朝时进行了大规模修缮。"
            "如今，长城是世界文化遗产，每年吸引大量游客前来参观。")
    near = base.replace("大量", "许多")
    other = "光合作用是植物、藻类和某些细菌利用光能，把二氧化碳和水转化为葡萄糖并释放氧气的过程。它主要发生在叶绿体中。"
    df = pl.DataFrame({"id": ["a", "b", "c"], "instruction": ["请介绍一下长城。"] * 2 + ["什么是光合作用？"],
                       "input": [""] * 3, "output": [base, near, other], "task": [None] * 3})
    out = op("dedup_near").bind(RunContext()).run(df.lazy())
    assert out["_reject"].to_list()[0] is None and out["_reject"][2] is None
    assert out["_reject"][1] is not None and out["_reject"][1].startswith("duplicate_near")
    # English shingles are the \w+ words they were
    from dataforge.clean.minhash import shingle_hashes
    from dataforge.words import SHINGLE_TOKEN_RE
    en = pl.Series(["It's 2024: the quick brown fox jumps over the lazy dog, again and again."])
    assert en.str.extract_all(SHINGLE_TOKEN_RE).to_list() == en.str.extract_all(r"\w+").to_list()
    assert shingle_hashes(en).hash.size == 15 - 4  # fifteen words, 5-word shingles
