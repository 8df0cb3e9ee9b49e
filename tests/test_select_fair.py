"""Selection fair across tasks: scores normalised within task (percentile / z-score), so a
task whose scores run high does not take the selection; kept shares per source and task
are reported."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dataforge import op
from dataforge.errors import ConfigError
from dataforge.ops.base import RunContext
from dataforge.schema import REJECT
from dataforge.score.select import kept_shares, rank_score


def mixed(n=200, seed=0) -> pl.DataFrame:
    """Converted NLP rows scored high on quality and complexity, open instructions low."""
    rng = np.random.default_rng(seed)
    half = n // 2
    return pl.DataFrame({
        "id": [f"r{i:04d}" for i in range(n)],
        "task": ["nli"] * half + ["open_qa"] * half,
        "source": ["esnli"] * half + ["alpaca"] * half,
        "score_quality": np.r_[rng.uniform(0.8, 1.0, half), rng.uniform(0.2, 0.6, half)],
        "score_complexity": np.r_[rng.uniform(0.6, 0.9, half), rng.uniform(0.1, 0.5, half)],
    })


def kept_by_task(out: pl.DataFrame) -> dict[str, int]:
    return dict(out.filter(pl.col(REJECT).is_null()).group_by("task").len().iter_rows())


@pytest.mark.parametrize("normalize", ["percentile", "zscore"])
def test_global_topk_on_normalised_scores_keeps_each_task_alike(normalize):
    df = mixed()
    o = op("select_topk", k=60, by=None, score=["score_quality", "score_complexity"], normalize=normalize)
    kept = kept_by_task(o.process(df))
    assert sum(kept.values()) == 60
    assert 20 <= kept.get("nli", 0) <= 40 and 20 <= kept.get("open_qa", 0) <= 40, kept
    m = o.report_metrics()
    assert m["normalize"] == normalize and m["rows_kept"] == 60
    assert m["by_source"]["alpaca"]["kept"] == kept["open_qa"]
    assert m["by_task"]["nli"]["share_of_output"] == pytest.approx(kept["nli"] / 60, abs=1e-3)


def test_raw_scores_pick_by_task_type_and_normalize_none_keeps_that_behaviour():
    df = mixed()
    kept = kept_by_task(op("select_topk", k=60, by=None, score=["score_quality", "score_complexity"],
                           normalize="none").process(df))
    assert kept == {"nli": 60}


def test_percentile_key_orders_rows_within_a_task_as_the_raw_score_does():
    df = mixed()
    key = df.select(rank_score(["score_quality"], "t", "percentile", "task").alias("k"), "task", "score_quality")
    for _, g in key.group_by("task"):
        assert (g.sort("score_quality")["k"].diff().drop_nulls() >= 0).all()
        # mid-ranks: (n - rank + 0.5) / n, symmetric around 0.5 whatever the group's size
        assert g["k"].max() == pytest.approx(1 - 0.5 / g.height) and g["k"].min() == pytest.approx(0.5 / g.height)
    with pytest.raises(ConfigError):
        rank_score(["score_quality"], "t", "ranks", "task")


def test_percentile_spreads_ties_so_a_global_cut_keeps_the_same_share_of_every_task():
    df = mixed(100).with_columns(pl.when(pl.col("task") == "nli").then(1.0).otherwise(pl.col("score_quality"))
                                 .alias("score_quality"))  # every nli row ties at 1.0
    kept = kept_by_task(op("select_topk", k=50, by=None, score=["score_quality"]).process(df))
    assert kept == {"nli": 25, "open_qa": 25}


def test_nulls_rank_last_and_kept_shares_count_every_group():
    df = mixed(20).with_columns(pl.when(pl.col("id") == "r0000").then(None).otherwise(pl.col("score_quality"))
                                .alias("score_quality"))
    out = op("select_topk", k=9, by="task", score=["score_quality"]).process(df)
    assert "r0000" not in out.filter(pl.col(REJECT).is_null())["id"].to_list()
    shares = kept_shares(out, pl.col(REJECT).is_null())
    assert shares["rows_in"] == 20 and shares["rows_kept"] == 18
    assert set(shares["by_task"]) == {"nli", "open_qa"} and shares["by_task"]["nli"]["share_kept"] == 0.9


@pytest.mark.slow
def test_deita_on_normalised_scores_keeps_each_task_alike(tmp_path):
    from dataforge.ops.base import RunContext
    rng = np.random.default_rng(1)
    topics = ["bread", "chess", "rivers", "volcanoes", "violins", "tax law", "tennis", "orbits", "bees", "glass"]
    ins = [f"Explain {t} to a child, part {i}." for i in range(8) for t in topics]
    df = mixed(len(ins), seed=2).with_columns(instruction=pl.Series(ins), input=pl.lit(""))
    o = op("select_deita", budget=30, tau=0.99).bind(RunContext(out=tmp_path))
    o.ensure_setup()
    kept = kept_by_task(o.process(df))
    assert 10 <= kept.get("nli", 0) <= 20 and 10 <= kept.get("open_qa", 0) <= 20, kept
    assert o.report_metrics()["by_task"]["open_qa"]["kept"] == kept["open_qa"] and rng is not None


def converted(n_per=50, seed=1) -> pl.DataFrame:
    """One converted task whose two templates' wording scores apart (complexity reads the
    template's words), each row with its own quality."""
    rng = np.random.default_rng(seed)
    tpl = ["sentiment/tone_question"] * n_per + ["sentiment/review_question"] * n_per
    return pl.DataFrame({
        "id": [f"c{i:04d}" for i in range(2 * n_per)],
        "task": ["sentiment"] * (2 * n_per), "source": ["rt"] * (2 * n_per),
        "meta": [f'{{"template":"{t}","prompt_type":"zero_shot"}}' for t in tpl],
        "instruction": [f"Is review {i} positive or negative?" for i in range(2 * n_per)], "input": [""] * (2 * n_per),
        "score_complexity": [0.9] * n_per + [0.3] * n_per,
        "score_quality": rng.uniform(0.5, 1.0, 2 * n_per),
    })


def _kept_templates(out: pl.DataFrame) -> dict[str, int]:
    kept = out.filter(pl.col(REJECT).is_null())
    return dict(kept.group_by(pl.col("meta").str.json_path_match("$.template")).len().iter_rows())


@pytest.mark.parametrize("step", ["select_topk", "select_deita", "mix"])
def test_selection_judges_rows_not_the_templates_they_were_drawn_with(step):
    df = converted()
    kw = {"select_topk": dict(k=40, by=None), "select_deita": dict(budget=40, tau=1.0),
          "mix": dict(by="source", method="proportional", total=40, order_by=["score_complexity", "score_quality"])}[step]
    score = {} if step == "mix" else {"score": ["score_complexity", "score_quality"]}
    o = op(step, **kw, **score)
    if step == "select_deita":
        o.bind(RunContext())
    out = o.process(df)
    assert _kept_templates(out) == {"sentiment/tone_question": 20, "sentiment/review_question": 20}
    # within a template the better rows are the ones kept
    for t in ("tone_question", "review_question"):
        g = out.filter(pl.col("meta").str.contains(t))
        kept, dropped = g.filter(pl.col(REJECT).is_null()), g.filter(pl.col(REJECT).is_not_null())
        assert kept["score_quality"].min() >= dropped["score_quality"].max()
    # ranked within the task alone, the template's wording decides
    o2 = op(step, **kw, **score, normalize_by="task")
    if step == "select_deita":
        o2.bind(RunContext())
    assert _kept_templates(o2.process(df)) == {"sentiment/tone_question": 40}


def test_a_one_row_stratum_ranks_at_the_middle_not_the_top():
    df = converted(20).vstack(pl.DataFrame({
        "id": ["lone"], "task": ["multiple_choice"], "source": ["rt"], "meta": ['{"template":"mc/x"}'],
        "instruction": ["Pick A, B, C or D."], "input": [""],
        "score_complexity": [0.18], "score_quality": [1.0]}))
    key = df.select("id", rank_score(["score_complexity", "score_quality"], "t", "percentile",
                                     ["task", "meta.template", "meta.prompt_type"], df.columns).alias("k"))
    assert key.filter(pl.col("id") == "lone")["k"].item() == 0.5
    out = op("select_topk", k=12, by=None, score=["score_complexity", "score_quality"]).process(df)
    assert "lone" in out.filter(pl.col(REJECT).is_not_null())["id"].to_list()


def test_a_stratum_of_weak_rows_kept_for_its_share_is_named(caplog):
    """Normalised ranks keep every stratum's share, a stratum of uniformly weak rows too (a new
    user's filler-wrapped translations): the metrics name it and a warning says how to drop it."""
    rng = np.random.default_rng(1)
    df = pl.DataFrame({"id": [f"r{i:04d}" for i in range(200)],
                       "task": ["open_qa"] * 150 + ["translation"] * 50,
                       "source": ["alpaca"] * 150 + ["weakgen"] * 50,
                       "score_quality": np.r_[rng.uniform(0.9, 1.0, 150), rng.uniform(0.4, 0.55, 50)],
                       "score_complexity": rng.uniform(0.2, 0.8, 200)})
    o = op("select_topk", k=100, by=None, score=["score_quality", "score_complexity"])
    with caplog.at_level("WARNING", logger="dataforge.select"):
        o.process(df)
    low = o.report_metrics()["low_quality_kept"]
    assert set(low) == {"source weakgen", "task translation"} and low["task translation"]["kept"] >= 20
    assert low["task translation"]["median_quality_kept"] < 0.6 < low["task translation"]["median_quality_rejected"]
    assert "select_threshold on score_quality" in caplog.text
    # a quality floor before the selection drops them, and nothing is named
    floor = op("select_topk", k=100, by=None, score=["score_quality", "score_complexity"])
    floor.process(df.filter(pl.col("score_quality") >= 0.6))
    assert "low_quality_kept" not in floor.report_metrics()
