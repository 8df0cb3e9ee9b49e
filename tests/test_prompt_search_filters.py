"""Generator fitness applies the operator's own filters: a reply the operator would reject
counts as rejected (rewrite's copy / lost-number / drift guards, Self-Instruct's instruction
filters and ROUGE-L novelty), with the reason counted in the fitness detail."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from dataforge.errors import ConfigError
from dataforge.promptsearch import SearchConfig
from dataforge.promptsearch import target as T
from dataforge.promptsearch.candidate import Candidate
from dataforge.promptsearch.search import make_fitness
from dataforge.testing.scripted import ScriptedLLM

ROOT = Path(__file__).resolve().parents[1]
REWRITE_CONST = {"style": "formal", "guidance": "in a more formal register.", "field": "instruction"}


def _rows() -> pl.DataFrame:
    inst = ["Write a poem of 300 words about the sea.", "List 5 ways to save water at home.",
            "Explain how a bicycle gear works.", "Summarise the plot of Hamlet in two sentences."]
    return pl.DataFrame({"instruction": inst, "text": inst})


def _fitness(cfg: SearchConfig):
    tgt = T.load(cfg.prompt_file, cfg.entry)
    return make_fitness(cfg, tgt), tgt.original()


@pytest.mark.slow  # MiniLM for the drift guard
def test_rewrite_guards_reject_copies_lost_numbers_and_drift():
    def answer(chat, s):
        orig = chat[-1]["content"].split("Original:\n", 1)[1].split("\n\nRewritten:", 1)[0]
        if "poem" in orig:
            return orig  # a copy
        if "water" in orig:
            return "Give several ways to save water at home."  # loses the number 5
        if "bicycle" in orig:
            return "The stock market closed higher on Friday after strong earnings."  # drift
        return "Please summarise the plot of Hamlet in two sentences."  # a good rewrite

    cfg = SearchConfig(prompt_file="rewrite.yaml", produces="instruction", constants=REWRITE_CONST,
                       weights={"score_clarity": 1.0})
    fit, orig = _fitness(cfg)
    assert fit.filters.operator == "rewrite"  # detected from the file (styles + user)
    (ev,) = fit.evaluate([orig], _rows(), ScriptedLLM(answer))
    assert ev.detail["rejection_rate"] == 0.75
    assert ev.detail["rejected"] == {"copy": 1, "constraint": 1, "drift": 1}
    # the same replies with only the reply checks: nothing rejected, a higher fitness
    cfg.operator = "none"
    fit2, _ = _fitness(cfg)
    (ev2,) = fit2.evaluate([orig], _rows(), ScriptedLLM(answer))
    assert ev2.detail["rejection_rate"] == 0.0 and ev2.fitness > ev.fitness


def test_self_instruct_filters_and_rouge_novelty():
    def answer(prompt_or_chat, s):
        text = prompt_or_chat[-1]["content"] if isinstance(prompt_or_chat, list) else prompt_or_chat
        n = len(re.findall(r"\n\d+\.", "\n" + text))
        first = re.findall(r"\d+\. (.*)", text)[0]
        return (f" {first}\n{n + 1}. Hi.\n{n + 2}. Write a story about a dragon who learns to cook pasta."
                f"\n{n + 3}. Write a story about a dragon who learns to cook pasta!\n{n + 4}. image of a cat drawn in ink")

    cfg = SearchConfig(prompt_file="self_instruct.yaml", entry="instructions", produces="instruction",
                       weights={"score_clarity": 1.0})
    fit, orig = _fitness(cfg)
    assert fit.filters.operator == "self_instruct"
    rows = _rows()
    (ev,) = fit.evaluate([orig], rows, ScriptedLLM(answer))
    rej = ev.detail["rejected"]
    # per reply: a copy of a seed (ROUGE-L 1.0), a too-short one, the dragon story once kept then
    # near-duplicates, and a blocked word ("image"); 5 candidates x 4 replies, 1 kept in all
    assert rej["rouge_similar"] >= 4 + 3 and rej["too_few_words"] == 4 and rej["blocked_word"] >= 4
    assert 0.8 < ev.detail["rejection_rate"] < 1.0  # the first dragon story is kept


def test_operator_must_be_known():
    with pytest.raises(ConfigError, match="operator must be one of"):
        SearchConfig(prompt_file="respond.yaml", operator="magic").validate()
