"""score_label: a row's label judged by a classifier trained on the other rows (out of fold)."""
from __future__ import annotations

import json
import random

import numpy as np
import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext

TOPICS = {
    "sports": ["match", "goal", "league", "coach", "season", "striker", "penalty", "cup", "stadium", "referee"],
    "business": ["shares", "profit", "market", "investors", "quarter", "revenue", "merger", "bank", "stocks", "ceo"],
    "science": ["researchers", "study", "cells", "telescope", "species", "climate", "physics", "genome", "lab", "data"],
}
FILLER = ["the", "a", "on", "in", "after", "with", "new", "report", "said", "week", "today", "from"]


def rows(n_per: int = 40, wrong: int = 6, seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    out = []
    for label, vocab in TOPICS.items():
        for i in range(n_per):
            words = rng.sample(vocab, 4) + rng.sample(FILLER, 5)
            rng.shuffle(words)
            tpl = rng.choice(["topic/a", "topic/b"])
            out.append({"instruction": "Which topic is this article about?", "input": " ".join(words),
                        "output": label, "task": "topic", "source": "news",
                        "meta": json.dumps({"template": tpl, "prompt_type": "zero_shot"}), "truth": "clean"})
    labels = list(TOPICS)
    for r in rng.sample(out, wrong):  # the label of another topic
        r["output"] = rng.choice([x for x in labels if x != r["output"]])
        r["truth"] = "wrong"
    # rows the score leaves alone: an inverted row, an open question
    out.append({"instruction": "Write a headline about sports.", "input": "", "output": "Late goal wins the cup",
                "task": "topic", "source": "news", "meta": json.dumps({"prompt_type": "inversion"}), "truth": "n/a"})
    out.append({"instruction": "Why is the sky blue?", "input": "", "output": "Rayleigh scattering of sunlight.",
                "task": "open_qa", "source": "news", "meta": "{}", "truth": "n/a"})
    df = pl.DataFrame(out).with_row_index("n")
    return df.with_columns(pl.format("r{}", pl.col("n")).alias("id")).drop("n")


def score(df: pl.DataFrame, **params) -> pl.DataFrame:
    o = op("score_label", embeddings=False, **params).bind(RunContext(seed=0))
    return o.run(df.drop("truth").lazy()).join(df.select("id", "truth"), on="id")


def test_wrong_labels_score_below_clean_ones_and_other_rows_get_none():
    got = score(rows())
    wrong = got.filter(pl.col("truth") == "wrong")["score_label"].to_numpy()
    clean = got.filter(pl.col("truth") == "clean")["score_label"].to_numpy()
    assert wrong.max() < np.median(clean), (wrong, np.median(clean))
    # ranked by the score, the wrong labels come first
    low = got.sort("score_label", nulls_last=True).head(len(wrong))
    assert (low["truth"] == "wrong").sum() >= len(wrong) - 1, low
    assert got.filter(pl.col("truth") == "n/a")["score_label"].null_count() == 2


def test_same_scores_whatever_the_row_order():
    df = rows()
    a = score(df).sort("id")["score_label"]
    b = score(df.sample(fraction=1.0, shuffle=True, seed=3)).sort("id")["score_label"]
    assert a.to_list() == b.to_list()


def test_too_few_rows_to_learn_from_get_no_score():
    got = score(rows(n_per=8, wrong=0))
    assert got["score_label"].null_count() == got.height
    assert score(rows(n_per=8, wrong=0), min_rows=10)["score_label"].null_count() == 2  # now enough


def test_labels_and_rationales_are_read_from_cot_and_reasoned_answers():
    from dataforge.score import answers as A
    from dataforge.score import label_noise as L
    from dataforge.score.rules import load_yaml
    df = pl.DataFrame({"instruction": ["q"] * 4, "input": ["p"] * 4, "output": [
        "a dog is an animal .\nSo the answer is: entailment", "No. The boy can not be two places at once",
        "Five stars: the review is positive.", "it is not possible to tell"]})
    ans = A.final_answer(load_yaml(A.ALIGNMENT))
    got = df.select(L.label_head(ans, 4).alias("l"), L.rationale(ans).alias("r"))
    assert got["l"].to_list() == ["entailment", "no", "five stars", None]
    assert got["r"].to_list()[:3] == ["a dog is an animal .", "The boy can not be two places at once",
                                      "the review is positive."]


def test_bad_and_missing_values_keep_every_row():
    df = rows()
    # nulls, empty answers, an answer that is no label at all, and no meta / input / source columns
    df = df.with_columns(
        pl.when(pl.col("id") == "r0").then(None).when(pl.col("id") == "r1").then(pl.lit(""))
        .when(pl.col("id") == "r2").then(pl.lit("a long sentence that names no label at all here"))
        .otherwise(pl.col("output")).alias("output"))
    bare = df.drop("meta", "input", "source", "truth")
    got = op("score_label", embeddings=False).bind(RunContext(seed=0)).run(bare.lazy())
    assert got.height == bare.height and got.columns == bare.columns + ["score_label"]
    assert got.filter(pl.col("id").is_in(["r0", "r1", "r2"]))["score_label"].null_count() == 3
    assert got["score_label"].drop_nulls().is_between(0, 1).all()
