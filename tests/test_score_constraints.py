"""Verifiable constraints an answer breaks (dataforge/score/constraints.py, IFEval's idea)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext
from dataforge.paths import RULES
from dataforge.rulefiles import load_yaml
from dataforge.score import constraints as C


def _broken(rows: list[tuple[str, str]]) -> list[dict]:
    cfg = load_yaml(RULES / "score" / "quality.yaml")["constraints"]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "output": [r[1] for r in rows]})
    return df.select(**C.checks(cfg)).to_dicts()


def test_each_constraint_fires_on_a_plain_break_and_not_within_its_margin():
    long = " ".join(["word"] * 45) + "."
    r = _broken([
        ("Summarize the following in no more than 20 words.", long),
        ("Summarize the following in no more than 20 words.", " ".join(["word"] * 24) + "."),
        ("Describe the ocean in exactly one sentence.", "It is vast. It is salty. It covers most of Earth."),
        ("Describe the ocean in one sentence.", "The ocean, e.g. the Pacific, is vast."),
        ("Give one sentence per planet.", "Mercury is small. Venus is hot. Earth is home."),
        ("Write a paper abstract that fits this one-sentence summary: we make CNNs faster.",
         "Deep networks are slow. We boost channels. It is faster. It is accurate."),
        ("Answer with one word: positive, negative or neutral.", "The sentiment of this review is negative."),
        ("Answer with one word: positive, negative or neutral.", "negative"),
        ("List the primary colours as a JSON array of strings.", "red, yellow, blue"),
        ("List the primary colours as a JSON array of strings.", '```json\n["red", "yellow", "blue"]\n```'),
        ("Explain what JSON is.", "A text format for data."),
        ("Reply in all caps: where is the meeting?", "The meeting is in room B."),
        ("Reply in all caps: where is the meeting?", "THE MEETING IS IN ROOM B."),
    ])
    fired = [[k for k, v in row.items() if v] for row in r]
    assert fired == [["word_limit"], [], ["one_sentence"], [], [], [], ["one_word"], [], ["json"], [], [], ["all_caps"], []]


def test_score_quality_halves_an_answer_that_breaks_a_constraint():
    rows = [("Describe the ocean in exactly one sentence.",
             "The ocean is a vast expanse of salt water that covers most of our planet and shapes its weather."),
            ("Describe the ocean in exactly one sentence.",
             "The ocean is a vast body of salt water. It covers about 71% of Earth's surface. It is home to countless "
             "species. It regulates the climate.")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": ["", ""], "output": [r[1] for r in rows],
                       "id": ["a", "b"], "meta": [None, None], "task": [None, None]},
                      schema_overrides={"meta": pl.Utf8, "task": pl.Utf8})
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    s = o.process(df)["score_quality"].to_list()
    assert s[0] == 1.0 and s[1] == 0.5


def test_answer_pairs_written_blind_that_ignore_a_constraint():
    # benchmarks/quality_data/answer_pairs.jsonl: 7 pairs whose worse answer ignores a stated
    # constraint; four are verifiable by rule (one sentence, a word limit, one word, JSON), the
    # rest (syllables of a haiku, the formal "Sie", "output only the command") are not
    pairs = [json.loads(line) for line in
             (Path(__file__).parents[1] / "benchmarks" / "quality_data" / "answer_pairs.jsonl").read_text().splitlines()]
    ic = [p for p in pairs if p["flaw"] == "ignores_constraint"]
    better = _broken([(p["instruction"], p["better"]) for p in ic])
    worse = _broken([(p["instruction"], p["worse"]) for p in ic])
    assert not any(any(r.values()) for r in better)
    assert sum(any(r.values()) for r in worse) >= 4


def test_spelled_out_counts_are_read_as_numbers():
    from dataforge.score import numbers

    got = pl.select(*[numbers.value(pl.lit(t)).alias(t) for t in (
        "a thousand", "Two-Hundred", "fifteen hundred", "twenty five", "two hundred and fifty", "300")]).row(0)
    assert got == (1000, 200, 1500, 25, 250, 300)
    # a word limit spelled out ("fifty") is read; "in one word" stays the one-word check's
    r = _broken([("Describe the sea in fifty words or fewer.", " ".join(["wave"] * 120) + "."),
                 ("Describe the sea in fifty words or fewer.", " ".join(["wave"] * 50) + "."),
                 ("Give each review's sentiment in one word.", "good\nbad\nfine\nnice\nawful\ngreat\nok\nmeh")])
    assert [row["word_limit"] for row in r] == [True, False, False]


def test_under_length_reads_a_length_demand_in_words():
    from dataforge.score import quality as Q

    cfg = load_yaml(RULES / "score" / "quality.yaml")
    story = "The old woman walked on. " * 30  # 150 words
    df = pl.DataFrame({"instruction": ["Generate a thousand words of text based on the given prompt.",
                                       "Write a two-hundred-word essay on rain.", "Write a 300-word essay on rain.",
                                       "Generate a thousand words of text based on the given prompt.",
                                       "Rewrite this in under a hundred words."],
                       "output": [story, "Rain falls. It is wet.", "Rain falls. It is wet.", story * 3, "Short."]})
    assert df.select(Q.under_length(cfg))[:, 0].to_list() == [True, True, True, False, False]
