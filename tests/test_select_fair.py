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


# -- DEITA fair across strata: shares of the budget, template strata, distinct rows, scripts ------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
NLI_INS = "Does the premise entail the hypothesis? Answer with entailment, neutral or contradiction."
SQUAD_INS = "Read the passage and answer the question with a span from it.\nQuestion: "


def strata_frame(n=60, seed=3) -> pl.DataFrame:
    """Three tasks of n rows each, as a new user's probe had them: open Alpaca instructions, one
    arithmetic template whose rows differ only in their numbers (cosine ~0.99 to each other with
    the static model), and e-SNLI rows under one instruction (~0.97)."""
    rng = np.random.default_rng(seed)
    alp = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").filter(pl.col("input") == "").head(n)
    nums = rng.choice(np.arange(2, 60), size=(n, 3))
    math_rows = [f"A notebook costs {a} dollars. Maria buys {b} notebooks and a pen that costs {c} dollars. "
                 "How much does she spend in total, in dollars?" for a, b, c in nums]
    nli = pl.read_ndjson(ROOT / "sample_data" / "esnli.jsonl").head(n)
    return pl.DataFrame({
        "id": [f"a{i:03d}" for i in range(n)] + [f"m{i:03d}" for i in range(n)] + [f"n{i:03d}" for i in range(n)],
        "instruction": alp["instruction"].to_list() + math_rows + [NLI_INS] * n,
        "input": [""] * (2 * n) + [f"Premise: {p}\nHypothesis: {h}"
                                   for p, h in zip(nli["Sentence1"], nli["Sentence2"])],
        "output": alp["output"].to_list() + [str(a * b + c) for a, b, c in nums] + nli["gold_label"].to_list(),
        "task": ["open_qa"] * n + ["math"] * n + ["nli"] * n,
        "source": ["alpaca"] * n + ["arith"] * n + ["esnli"] * n, "lang": ["en"] * (3 * n),
        "score_quality": rng.uniform(0.3, 1.0, 3 * n), "score_complexity": rng.uniform(0.2, 0.9, 3 * n),
    })


# the paper's single walk: one tau for every pair, the budget by rank alone, every row compared
PAPER = dict(balance=False, tau_relative=None, distinct_by_task={}, distinct_numbers=False, scripts="all")


def deita(tmp_path, df, **kw):
    o = op("select_deita", model="static", **kw).bind(RunContext(out=tmp_path))
    out = o.process(df)
    return out, o.report_metrics()


def test_deita_gives_every_stratum_its_share_of_the_budget(tmp_path, caplog):
    """A new user's budget of 1000 of 2,730 rows kept 17% of an arithmetic template and 24% of
    e-SNLI against 49% of Alpaca: their rows were rejected as too similar to each other."""
    df = strata_frame()
    out, m = deita(tmp_path, df, budget=60)
    kept = kept_by_task(out)
    assert sum(kept.values()) == 60 and all(19 <= kept.get(t, 0) <= 21 for t in ("open_qa", "math", "nli")), kept
    assert m["by_stratum"]["task=math"]["kept"] == kept["math"] and m["stratum_cap"]["task=nli"] == 20
    assert "low_share_kept" not in m
    # the paper's rule squeezes the template strata, and the step says so (log and manifest)
    with caplog.at_level("WARNING", logger="dataforge.select"):
        out, m = deita(tmp_path, df, budget=60, **PAPER)
    kept = kept_by_task(out)
    assert kept.get("math", 0) < 10 and kept["open_qa"] > 30, kept
    assert "stratum task=math" in m["low_share_kept"] and m["low_share_kept"]["stratum task=math"]["kept"] < 10
    assert "far less of: stratum task=math" in caplog.text


def test_deita_without_budget_keeps_rows_that_differ_in_what_varies(tmp_path):
    """No budget: every row passing the similarity rule. Rows differing only in their numbers,
    e-SNLI rows sharing the instruction (and premises), questions about one passage are other
    requests; an exact copy and a reworded instruction are still too similar."""
    df = strata_frame()
    sq = pl.read_ndjson(ROOT / "sample_data" / "squad.jsonl")
    multi = sq.filter(pl.len().over("context") >= 3).head(30)
    squad = pl.DataFrame({
        "id": [f"s{i:03d}" for i in range(multi.height)],
        "instruction": [SQUAD_INS + q for q in multi["question"]], "input": multi["context"],
        "output": [a[0]["text"] for a in multi["answers"]], "task": "extractive_qa", "source": "squad", "lang": "en",
        "score_quality": 0.8, "score_complexity": 0.5})
    copies = pl.concat([df.filter(pl.col("id").is_in(["m005", "n007"])), squad.head(1)]).with_columns(
        ("dup-" + pl.col("id")).alias("id"), score_quality=pl.lit(0.1))
    reworded = df.filter(pl.col("id") == "a003").with_columns(
        id=pl.lit("dup-a003"), score_quality=pl.lit(0.1),
        instruction="Please, " + pl.col("instruction").str.slice(0, 1).str.to_lowercase()
        + pl.col("instruction").str.slice(1))
    df = pl.concat([df, squad.select(df.columns), copies, reworded], how="vertical_relaxed")
    out, m = deita(tmp_path, df)
    rej = out.filter(pl.col(REJECT).is_not_null())
    assert set(rej.filter(pl.col("id").str.starts_with("dup-"))["id"]) == \
        {"dup-m005", "dup-n007", "dup-s000", "dup-a003"}
    assert rej.filter(pl.col("id").str.starts_with("dup-"))[REJECT].str.starts_with("too_similar: cos ").all()
    real = out.filter(~pl.col("id").str.starts_with("dup-"))
    share = real.group_by("task").agg(pl.col(REJECT).is_null().mean().alias("k"))
    assert dict(share.iter_rows())["math"] == 1.0 and dict(share.iter_rows())["extractive_qa"] == 1.0
    assert dict(share.iter_rows())["nli"] >= 0.9 and dict(share.iter_rows())["open_qa"] >= 0.95, share
    assert m["stratum_tau"]["task=nli"] > 0.9  # the template stratum's own threshold
    # the paper's rule kept a few of the arithmetic rows and one question per passage
    paper = deita(tmp_path, df, **PAPER)[0].filter(~pl.col("id").str.starts_with("dup-"))
    kept = kept_by_task(paper)
    assert kept["math"] < 30 and kept["extractive_qa"] <= multi["context"].n_unique(), kept


def test_deita_paper_params_are_the_one_walk_of_the_paper(tmp_path):
    from dataforge import embed
    from dataforge.score import texts
    from dataforge.score.index import greedy_diverse

    df = strata_frame(30)
    o = op("select_deita", model="static", budget=40, normalize="none", **PAPER).bind(RunContext(out=tmp_path))
    out = o.process(df)
    v = embed.shared("static").encode(df.select(texts.joined(["instruction", "input"], 1000)).to_series().to_list())
    s = (df["score_complexity"] * df["score_quality"]).to_numpy()
    adm, _, _ = greedy_diverse(v, np.lexsort((df["id"].to_numpy(), -s)), 0.9, 40)
    assert out[REJECT].is_null().to_list() == adm.tolist()


def test_deita_and_novelty_do_not_judge_rows_the_model_cannot_read(tmp_path, caplog):
    """The static model puts any two Chinese texts at cosine ~0.99: with no budget a new user's
    DEITA kept 0 of 8 Chinese explanations and score_novelty gave them ~0.003."""
    zh = ["解释为什么天空是蓝色的。", "写一首关于大海的诗。", "北京是中国的首都。", "我今天很开心，因为考试通过了。",
          "请把这段文字翻译成英文。", "光合作用需要阳光、水和二氧化碳。", "这家餐厅的服务太差了。", "如何学习弹钢琴？"]
    en = ["Explain why the sky is blue.", "Write a poem about the sea.", "Explain why the sky is blue!",
          "Describe how a bicycle gear works."]
    n = len(zh) + len(en)
    df = pl.DataFrame({"id": [f"r{i:02d}" for i in range(n)], "instruction": zh + en, "input": [""] * n,
                       "output": "An answer.", "task": "open_qa", "source": "s",
                       "lang": ["zh"] * len(zh) + ["en"] * len(en),
                       "score_quality": np.linspace(0.9, 0.4, n), "score_complexity": 0.5})
    with caplog.at_level("WARNING", logger="dataforge.embed"):
        out, m = deita(tmp_path, df)
    assert out.filter(pl.col("lang") == "zh")[REJECT].null_count() == len(zh)
    assert out.filter(pl.col(REJECT).is_not_null())["id"].to_list() == ["r10"]  # the English copy still goes
    assert m["rows_not_compared_script"] == len(zh) and "8 of 12 row(s) are mostly in other scripts" in caplog.text
    assert deita(tmp_path, df, scripts="all")[0].filter(pl.col("lang") == "zh")[REJECT].null_count() <= 1
    # score_novelty: null for them, and they are nobody's nearest row
    o = op("score_novelty", model="static").bind(RunContext(out=tmp_path))
    nov = o.process(df)["score_novelty"]
    assert nov[:len(zh)].null_count() == len(zh) and nov[len(zh):].null_count() == 0
    assert nov[len(zh) + 2] < 0.05 < nov[len(zh) + 3] and o.report_metrics()["rows_not_compared_script"] == len(zh)
    old = op("score_novelty", model="static", scripts="all").bind(RunContext(out=tmp_path)).process(df)["score_novelty"]
    assert old[:len(zh)].max() < 0.05  # what the English model makes of them: all alike
    # dataset_metrics measures diversity without them
    dm = op("dataset_metrics", model="static", groups=2).bind(RunContext(out=tmp_path))
    dm.process(df)
    div = dm.report_metrics()["diversity"]
    assert div["rows_embedded"] == len(en) and div["rows_not_embedded_script"] == len(zh)
