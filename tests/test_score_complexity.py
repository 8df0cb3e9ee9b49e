"""score_complexity measures what the request demands, not how long the prompt is."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext

PASSAGE = " ".join(["The committee met on Tuesday and discussed the budget for the coming year."] * 12)
FEWSHOT = ("Here are some solved examples of the task.\n\n" + "\n\n".join(
    f"Premise: {PASSAGE[:200]}\nHypothesis: The committee met.\nAnswer: entailment" for _ in range(3))
    + "\n\nNow solve this one.\nDoes the premise entail the hypothesis?")


def spearman(a, b) -> float:
    ra, rb = pl.Series(a).rank().to_numpy(), pl.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def complexity(rows) -> list[float]:
    df = pl.DataFrame({"id": [str(i) for i in range(len(rows))], "instruction": [r[0] for r in rows],
                       "input": [r[1] for r in rows], "task": [r[2] for r in rows], "meta": ["{}"] * len(rows)})
    o = op("score_complexity").bind(RunContext())
    o.ensure_setup()
    return o.process(df)["score_complexity"].to_list()


def test_requested_length_and_constraints_count_prompt_length_does_not():
    story, fewshot, passage_q, short_q = complexity([
        ("Write an 1850-word horror story.", "", "creative_writing"),
        (FEWSHOT, "", "nli"),
        ("What did the committee discuss?", PASSAGE, "extractive_qa"),
        ("What did the committee discuss?", "", "extractive_qa"),
    ])
    assert story > fewshot and story > passage_q
    assert passage_q == short_q  # the passage is context, not demand


def test_demands_add_up():
    plain, demanding = complexity([
        ("Write a story about a cat.", "", "creative_writing"),
        ("Write a 500-word story about a cat in the style of Poe; it must rhyme, avoid dialogue, "
         "and end with a twist. Explain your choices step by step.", "", "creative_writing"),
    ])
    assert demanding > plain + 0.3


def test_not_a_proxy_for_prompt_length():
    rows = [(f"Classify the topic of this article.", PASSAGE[: 40 * k], "topic") for k in range(1, 8)] + [
        ("Write a haiku about rain.", "", "creative_writing"),
        ("Prove that the square root of 2 is irrational, step by step.", "", "math"),
        ("Design a database schema for a library, as SQL, with at least 5 tables.", "", "code"),
        ("Summarize the text.", PASSAGE, "summarization"),
        (FEWSHOT, "", "nli"),
    ]
    scores = complexity(rows)
    lengths = [len(r[0]) + len(r[1]) for r in rows]
    assert spearman(scores, lengths) < 0.5
