"""Rule-based scores on planted cases; verb–noun pairs; Vendi score; quotas."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dataforge import op
from dataforge.ops.base import RunContext
from dataforge.score import heuristics as H
from dataforge.score import quality as Q
from dataforge.score.rules import load_yaml
from dataforge.score import verbnoun
from dataforge.score.vendi import vendi_score

CLEAR = [
    "Write a haiku about autumn leaves falling in the wind.",
    "List three benefits of regular exercise for older adults.",
    "Explain how photosynthesis converts sunlight into chemical energy.",
    "Translate the sentence 'Good morning, my friend' into French.",
]
VAGUE = [
    "Summarize the following text.",       # refers to a text that is not there
    "Fix this.",                           # bare verb + pronoun
    "Write an essay about {topic}.",       # unfilled placeholder
    "Explain it.",                         # missing object
    "What is it? Why? When? Where is the answer?",  # several questions about nothing
    "Rewrite the given paragraph in a formal tone.",
]


def frame(instr, outputs=None, inputs=None, task="open_qa"):
    n = len(instr)
    return pl.DataFrame({
        "id": [f"r{i}" for i in range(n)], "instruction": instr,
        "input": inputs or [""] * n, "output": outputs or ["An answer."] * n,
        "task": [task] * n, "source": ["s"] * n, "meta": ["{}"] * n,
    })


def run_map(name, df, **params):
    o = op(name, **params).bind(RunContext())
    o.ensure_setup()
    return o.process(df)


def test_vague_instructions_score_lower_on_clarity():
    clear = run_map("score_clarity", frame(CLEAR))["score_clarity"]
    vague = run_map("score_clarity", frame(VAGUE))["score_clarity"]
    assert clear.min() > vague.max(), (clear.to_list(), vague.to_list())
    assert clear.min() >= 0.85 and vague.max() <= 0.7
    # the same "vague" instruction is fine once the input supplies what it refers to
    given = frame(["Summarize the following text."], inputs=["Cats sleep most of the day and hunt at night."])
    assert run_map("score_clarity", given)["score_clarity"][0] >= 0.85


GOOD = ("Regular exercise strengthens the heart, improves mood and helps people sleep better. "
        "It also lowers the risk of several chronic diseases.")


def test_truncated_refusal_and_repetitive_responses_score_lower_on_quality():
    bad = [
        "I'm sorry, but I cannot help with that request.",
        "Regular exercise strengthens the heart, improves mood and helps people sleep better because the",
        GOOD[:90],  # cut mid-sentence
        "exercise is good " * 30,
        "As an AI language model, I do not have personal opinions.",
    ]
    instr = ["Why is exercise good for you?"] * (len(bad) + 1)
    out = run_map("score_quality", frame(instr, outputs=[GOOD] + bad))["score_quality"].to_list()
    assert out[0] == 1.0
    assert all(b <= 0.5 for b in out[1:]), out
    checks = frame(instr, outputs=[GOOD] + bad).select(**H.quality_checks())
    assert checks["refusal"].to_list() == [False, True, False, False, False, True]
    hits = Q.detector_hits(frame(instr, outputs=[GOOD] + bad), load_yaml(H.QUALITY))
    assert hits["truncated"].to_list()[:3] == [False, False, True]


def test_quality_blends_fasttext_column_when_present():
    df = frame(["Why?"] * 2, outputs=[GOOD] * 2).with_columns(score_quality_ft=pl.Series([0.0, None]))
    q = run_map("score_quality", df)["score_quality"].to_list()
    assert q[0] == pytest.approx(0.5) and q[1] == 1.0  # 0.5 * 1.0 + 0.5 * 0.0; null -> heuristic


def test_length_fit_depends_on_task():
    short = frame(["Is this review positive or negative?"], outputs=["positive"], inputs=["Great film!"],
                  task="classification")
    assert run_map("score_quality", short)["score_quality"][0] == 1.0
    assert run_map("score_quality", short.with_columns(task=pl.lit("brainstorming")))["score_quality"][0] < 1.0


def test_complexity_heuristic_orders_simple_below_demanding():
    simple = ["Name a color.", "Say hello."]
    hard = ["Design an algorithm that schedules exams for 500 students without conflicts; explain why it is "
            "optimal, analyze its complexity, and give the answer as a table with at least 3 examples.",
            "Compare and contrast two economic policies, evaluate the trade-offs step by step, and justify "
            "which one a small country should adopt, in exactly 300 words."]
    s = run_map("score_complexity", frame(simple))["score_complexity"]
    h = run_map("score_complexity", frame(hard))["score_complexity"]
    assert h.min() > s.max() + 0.3
    assert all(0.0 <= v <= 1.0 for v in s.to_list() + h.to_list())


def test_scores_declare_their_columns_and_change_with_rules():
    o = op("score_clarity")
    assert o.columns_out() == ["score_clarity"]
    assert op("score_clarity", judge=True).columns_out() == ["score_clarity", "score_judge_clarity"]
    assert o.fingerprint_extra()  # rules digest: editing rules/score/clarity.yaml reruns the stage


def test_verb_noun_pairs():
    df = verbnoun.verb_noun(pl.Series([
        "Write a short poem about the sea.", "Generate a list of five fruits.",
        "What is the capital of France?", "Please summarize the article below.",
        "Given a list of numbers, sort them.",
    ]))
    assert df.rows() == [("write", "poem"), ("generate", "list"), (None, None),
                         ("summarize", "article"), ("sort", None)]
    s = verbnoun.summary(df)
    assert s["distinct_verbs"] == 3 and s["distinct_pairs"] == 3 and s["rows_with_pair"] == 3


def test_vendi_score_counts_effective_items():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 64))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert vendi_score(np.repeat(x[:1], 50, axis=0)) == pytest.approx(1.0, abs=1e-6)
    assert 4.0 < vendi_score(np.repeat(x, 20, axis=0)) <= 5.0 + 1e-6
    # the d x d route equals the n x n definition
    k = x @ x.T / len(x)
    lam = np.clip(np.linalg.eigvalsh(k), 1e-12, None)
    assert vendi_score(x) == pytest.approx(float(np.exp(-(lam * np.log(lam)).sum())), rel=1e-6)
