"""Shared helpers of the score, metrics and selection operators.

heuristics  Polars expressions of the rule-based clarity, quality and complexity models
rules       loading the word lists and weights in rules/score/
texts       the text of a row to embed, and embedding through the shared cached embedder
index       exact nearest-neighbour search and DEITA's greedy admission (blocked BLAS)
vendi       the Vendi score of a set of embeddings
verbnoun    rule-based verb–noun pairs of instructions (Self-Instruct's diversity analysis)
judge       LLM-as-judge prompt ensembles (rules/prompts/judge_*.yaml)
select      ranking score and column checks shared by the selection operators
quota       per-source quotas for mixing (ratio, proportional with cap, temperature)
"""
