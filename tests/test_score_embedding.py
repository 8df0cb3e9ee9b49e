"""Embedding-based scores: alignment (shuffled pairs score lower), novelty, dataset metrics."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dataforge import Pipeline, op
from dataforge.ops.base import RunContext

ROOT = Path(__file__).resolve().parents[1]


def alpaca_short(n=40):
    df = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl")
    # short outputs keep the encoder fast on CPU
    df = df.with_columns(pl.col("output").str.len_chars().alias("_n")).sort("_n").head(n).drop("_n")
    return df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), task=pl.lit("open_qa"),
                           source=pl.lit("alpaca"), meta=pl.lit("{}"), lang=pl.lit("en"))


def bound(name, tmp_path, **params):
    o = op(name, **params).bind(RunContext(out=tmp_path))
    o.ensure_setup()
    return o


@pytest.mark.slow
def test_shuffled_pairs_score_lower_on_alignment(tmp_path):
    df = alpaca_short()
    o = bound("score_alignment", tmp_path)
    orig = o.process(df)["score_alignment"]
    shuffled = o.process(df.with_columns(pl.col("output").shift(7).fill_null(pl.col("output").tail(7).first())))
    shuf = shuffled["score_alignment"]
    assert orig.mean() > shuf.mean() + 0.3, (orig.mean(), shuf.mean())
    assert (orig > shuf).mean() >= 0.85
    assert orig.min() >= 0.0 and orig.max() <= 1.0


def test_answer_type_checks():
    o = op("score_alignment", labels={"classification": ["positive", "negative"]}, label_min_count=1)
    df = pl.DataFrame({
        "task": ["classification", "classification", "extractive_qa", "extractive_qa", "summarization",
                 "summarization", "nli", "nli", "nli", "open_qa"],
        "source": ["s"] * 10,
        "input": ["", "", "Paris is the capital of France.", "Paris is the capital of France.",
                  "A long article about many things in detail.", "Short.", "", "", "", ""],
        "output": ["Positive", "maybe", "paris", "Lyon", "About things.", "A much longer summary than it.",
                   "entailment", "entailment", "contradiction", "Anything."],
        "meta": ["{}"] * 10,
    })
    # nli labels are inferred per source+task: each of the 3 outputs has >= 2% share here
    assert df.select(o.check_failures()).to_series().to_list() == [
        False, True, False, True, False, True, False, False, False, False]


@pytest.mark.slow
def test_novelty_and_dataset_metrics_in_a_pipeline(tmp_path):
    df = alpaca_short(30).drop("id")
    dup = df.head(3).with_columns(pl.col("output") + " (copy)")  # same prompts, new ids
    res = Pipeline([op("score_clarity"), op("score_novelty"), op("dataset_metrics", groups=4)]).run(
        pl.concat([df, dup]), tmp_path / "o")
    data = pl.concat([pl.read_parquet(p) for p in res.shards])
    assert data.height == 33 and data["score_novelty"].null_count() == 0
    copies = data.filter(pl.col("instruction").is_in(dup["instruction"].to_list()))
    assert copies["score_novelty"].max() < 0.01
    assert data["score_novelty"].mean() > 0.2
    m = res.manifest["metrics"]["dataset_metrics"]
    assert m["rows"] == 33 and m["task_coverage"]["by_task"] == {"open_qa": 33}
    assert 1.0 < m["diversity"]["vendi_score"] <= 33
    assert sum(m["embedding_groups"]["sizes"].values()) == 33
    assert len(m["embedding_2d"]) == 33 and {"x", "y", "id", "source", "task"} == set(m["embedding_2d"][0])
    assert m["verb_noun"]["distinct_verbs"] >= 3 and m["lengths"]["output"]["words"]["p50"] > 0
    assert "score_clarity" in m["scores"] and "score_novelty" in m["scores"]
    assert res.manifest["totals"]["balanced"]
