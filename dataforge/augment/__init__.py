"""Shared pieces of the augmentation operators (`eda`, `back_translate`, `rewrite`);
their base class, AugmentOp, is dataforge/ops/base_augment.py.

guards     copy, drift (MiniLM cosine) and number-keeping guards, vectorised
seeds      per-row seeds from (seed, row id, slot): the same row gets the same result in any batch
synonyms   the WordNet-derived synonym table and nlpaug augmenters fed from it
translate  batched seq2seq (MarianMT-style) translation through transformers
llm_text   prompt files from rules/prompts rendered in a sandbox, one LLM call per text
rules      locating and loading rules files
"""
