"""The labelled quality evaluation set and the floors of issue 12's "Done when", measured by
the harness (dataforge/evaluation/harness.py) on the real operators."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge.evaluation import harness as H
from dataforge.evaluation.quality_set import COLUMNS, EXTRA, LABELS, build_quality_set, defect_texts


@pytest.fixture(scope="module")
def qset() -> pl.DataFrame:
    return build_quality_set()


@pytest.fixture(scope="module")
def filters(qset) -> dict:
    return H.filter_report(qset, with_langid=True)


def test_set_shape_labels_and_determinism(qset):
    assert list(qset.columns) == list(COLUMNS) + list(EXTRA)
    assert set(qset["label"]) == set(LABELS)
    assert qset["id"].n_unique() == qset.height
    counts = dict(qset.group_by("label").len().iter_rows())
    assert counts["clean"] >= 1500 and all(counts[k] >= 100 for k in LABELS if k not in ("clean", "wrong_language"))
    # task kinds of many sorts, and both halves of the defect texts in use
    kinds = set(qset.filter(pl.col("label") == "clean")["kind"])
    assert {"open_qa", "brainstorming", "creative_writing", "planning", "code", "math", "translation",
            "summarization", "extractive_qa", "nli", "sentiment", "topic", "classification"} <= kinds
    assert set(qset["split"]) == {"dev", "heldout"}
    assert build_quality_set(seed=0)["id"].to_list() == qset["id"].to_list()


def test_defect_texts_have_disjoint_dev_and_heldout_halves():
    texts = defect_texts()
    for kind in ("refusal", "disclaimer", "vague"):
        assert texts[kind]["dev"] and texts[kind]["heldout"]
        assert not set(texts[kind]["dev"]) & set(texts[kind]["heldout"])


def test_planted_defects_are_what_they_say(qset):
    clean = {r["id"]: r for r in qset.filter(pl.col("label") == "clean").iter_rows(named=True)}
    garbled = qset.filter(pl.col("label") == "garbled").head(20)
    originals = qset.filter(pl.col("label") == "clean")
    for r in garbled.iter_rows(named=True):  # same words, other order
        src = originals.filter((pl.col("instruction") == r["instruction"]) & (pl.col("input") == r["input"]))
        assert any(sorted(o.split()) == sorted(r["output"].split()) for o in src["output"])
    for r in qset.filter(pl.col("label") == "near_duplicate").head(20).iter_rows(named=True):
        assert r["group"] in clean
    cot = qset.filter(pl.col("meta").str.contains('"prompt_type":"cot"'))
    assert cot.height >= 100 and cot["output"].str.contains("So the answer is: ").all()


def test_auroc_and_spearman_helpers():
    assert H.auroc([3, 4, 5], [0, 1, 2]) == 1.0
    assert H.auroc([0, 1], [0, 1]) == 0.5
    assert H.auroc([], [1]) is None
    assert H.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)


# -- floors of the "Done when" ------------------------------------------------------

def test_every_default_filter_rule_drops_at_most_2pct_of_clean_rows_of_every_task(filters):
    offenders = {}
    for name, r in list(filters["rules"].items()) + [("langid", filters["langid"])]:
        for kind, v in r["clean_by_kind"].items():
            # a kind with fewer than 50 rows: at most one row (a single row is > 2% of it)
            limit = 0.02 if v["n"] >= 50 else 1.0 / v["n"] + 1e-9
            if v["dropped"] > limit:
                offenders[f"{name}/{kind}"] = v
    assert not offenders, offenders


def test_default_filters_catch_refusals_truncations_and_garbled(filters):
    caught = filters["rule_filter"]["caught"]
    assert caught["refusal"]["all"] >= 0.99 and caught["refusal"]["heldout"] >= 0.98, caught["refusal"]
    assert caught["garbled"]["all"] >= 0.90, caught["garbled"]
    # one planting of 160 cuts moves by +-0.05 with the draw (seed 0 read 0.875 with blake2b
    # draws, 0.838 with XXH3 ones, same rules): the resampled test below carries the claim
    assert caught["truncated"]["all"] >= 0.80, caught["truncated"]
    assert filters["langid"]["caught"]["wrong_language"]["all"] >= 0.7


def test_catch_of_freshly_planted_cuts_and_shuffles(qset):
    # ten plantings, not one: the seed-0 figure above is a single noisy draw of 160 rows
    r = H.resampled_report(qset)
    assert r["truncated"]["n"] >= 1500 and r["garbled"]["n"] >= 1500
    assert r["truncated"]["caught"] >= 0.86 and r["truncated"]["heldout"] >= 0.82, r["truncated"]
    assert r["garbled"]["caught"] >= 0.90, r["garbled"]
    # unpunctuated list items after ones that end in periods, and a label's reason that ended
    # two sentences, are cuts; the e-SNLI style "No. The boy can not be ..." is not
    cot = "Does the premise entail the hypothesis?\nExplain your reasoning first, then give the answer."
    rows = pl.DataFrame({"instruction": ["List steps.", "Is this claim true?", "Is it entailed?",
                                         "Write interview questions.", cot, cot],
                         "input": ["", "The USSR landed first.", "P: a boy runs. H: a boy sleeps.", "", "P: H:", "P: H:"],
                         "output": ["1. Preheat the oven.\n2. Mix the flour.\n3. Combine the wet and dry ingredients in a medium",
                                    "This claim is false. The Soviet Union did not land a human on the moon. The first human to walk on",
                                    "No. The boy can not be running and sleeping at the same time",
                                    "1. What is your name?\n2. Where do you live?\n3. Do you have any dietary",
                                    "a boy who runs is awake and a boy who sleeps is not awake so the two",
                                    "a boy who runs is awake and a boy who sleeps is not awake so the two differ\n"
                                    "So the answer is: contradiction"],
                         "task": ["planning", "classification", "nli", "brainstorming", "nli", "nli"]})
    from dataforge.clean import rules as R
    fired = R.reasons(H._ops()["rule_filter"](rules="default").active(), rows).to_list()
    assert [f is not None and "truncated" in f for f in fired] == [True, True, False, True, True, False], fired
    assert "before the answer" in fired[4]


def test_near_dedup_precision_recall_and_no_distinct_question_removed(qset):
    r = H.dedup_report(qset)["dedup_near"]
    assert r["recall"] >= 0.95 and r["precision"] >= 0.95, r
    assert r["distinct_questions_removed_sharing_passage"] == 0, r


@pytest.fixture(scope="module")
def cheap_scores(qset) -> dict:
    scored, _ = H.score_columns(qset, ["score_clarity", "score_quality", "score_complexity"])
    return {"scores": H.score_report(scored), "complexity": H.complexity_report(scored)}


def test_quality_and_clarity_floors(cheap_scores):
    s = cheap_scores["scores"]
    assert s["score_clarity"]["vague"]["auroc"] >= 0.90
    assert s["score_quality"]["truncated"]["auroc"] >= 0.95
    assert s["score_quality"]["garbled"]["auroc"] >= 0.90
    assert s["score_quality"]["refusal"]["auroc"] >= 0.99


def test_complexity_is_not_prompt_length(cheap_scores):
    assert cheap_scores["complexity"]["spearman_vs_prompt_length"] < 0.5


@pytest.mark.slow
def test_alignment_floors_with_minilm(qset):
    # MiniLM on ~2.9k rows: minutes on 2 cores (~5k tokens/s), so only on a sample of the set:
    # 250 clean rows, 100 of each shuffled kind (AUROC 0.98 there, the floors 0.95 / 0.90)
    sample = pl.concat([qset.filter(pl.col("label") == "clean").sample(250, seed=1),
                        *(qset.filter(pl.col("label") == k).sample(100, seed=1) for k in ("shuffled", "shuffled_short"))])
    scored, _ = H.score_columns(sample, ["score_alignment"])
    s = H.score_report(scored)["score_alignment"]
    assert s["shuffled"]["auroc"] >= 0.95 and s["shuffled_short"]["auroc"] >= 0.90, json.dumps(s)[:400]


def test_cli_runs_and_writes_json(tmp_path, capsys):
    from dataforge.cli import main
    out = tmp_path / "q.json"
    assert main(["eval-quality", "--scores", "score_complexity", "--no-langid", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["dedup"]["dedup_near"]["recall"] >= 0.95
    assert "AUROC" in capsys.readouterr().out
