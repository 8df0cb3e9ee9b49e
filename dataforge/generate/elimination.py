"""Evol-Instruct's elimination rules 2-4 as Polars expressions (rule 1 asks the LLM).

2. the response contains "sorry" and is short (< 80 words): the model could not answer
3. the response is only punctuation and stop words
4. the evolved instruction copies words of the evolving prompt ("#Rewritten Prompt#", ...)
"""
from __future__ import annotations

import polars as pl


def reasons(instruction: pl.Expr, response: pl.Expr, cfg: dict, stopwords: list[str]) -> pl.Expr:
    words = response.str.count_matches(r"\S+")
    sorry = response.str.to_lowercase().str.contains(cfg.get("sorry_word", "sorry"), literal=True) \
        & (words < cfg.get("sorry_max_words", 80))
    toks = response.str.to_lowercase().str.extract_all(r"[a-z0-9]+")
    only_stop = toks.list.eval(pl.element().is_in(stopwords)).list.all().fill_null(True)
    copied = instruction.str.contains_any(cfg.get("copied_phrases", []), ascii_case_insensitive=True)
    return (pl.when(copied).then(pl.lit("copied_prompt_words: the instruction repeats the evolving prompt"))
            .when(only_stop).then(pl.lit("stopword_response: only punctuation and stop words"))
            .when(sorry).then(pl.format("sorry_response: 'sorry' in a response of {} words", words))
            .otherwise(None))
