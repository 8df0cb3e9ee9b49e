"""Shared pieces of the generation operators (`self_instruct`, `evol_instruct`, `respond`, `magpie`).

prompts   prompt files from rules/prompts (YAML via safe_load, Jinja in a sandbox)
rouge     ROUGE-L F1 and the novelty index that keeps Self-Instruct's check sub-quadratic
parse     turning completions into instructions / instances, and the papers' filters
rows      building canonical rows (ids, meta) for generated examples
"""
