"""`rewrite`: an LLM paraphrases the instruction in another style, keeping meaning and constraints.

Styles (rules/prompts/rewrite.yaml): question, command, request, formal, casual, shorter,
detailed; add your own there. A row's `per_row` slots rotate through `styles` from a
per-row start, so one row gets different styles and the dataset an even mix. Guards:
drift (MiniLM cosine), copy, and lost numbers (on by default: "in 300 words" must stay).
Sampling uses the run's seed; replies are cached per prompt in OUT/cache/llm, so a rerun
or resume repeats them exactly (backends that seed per request, like vLLM, are also
independent of batching).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from dataforge.augment import llm_text
from dataforge.augment import seeds as S
from dataforge.ops.base_augment import AugmentOp, Generated
from dataforge.errors import ConfigError
from dataforge.ops.base import param, register
from dataforge.ops.base_prompt import PromptFileOp

STYLES = ["question", "command", "request", "formal", "casual", "shorter", "detailed"]


@register
class Rewrite(PromptFileOp, AugmentOp):
    """LLM paraphrase in several styles (question / command / request, formal / casual, shorter / detailed)."""

    name = "rewrite"
    suffix: ClassVar[str] = "+rewrite"
    keep_numbers_default: ClassVar[bool] = True
    plumbing: ClassVar[tuple[str, ...]] = ("prompt_file", "reject_truncated")

    styles: list[str] = param(default_factory=lambda: list(STYLES))
    llm: str | None = None  # backend spec; default the run's --llm
    prompt_file: str = "rewrite.yaml"
    temperature: float | None = None  # default: the prompt file's sampling
    max_tokens: int | None = None
    reject_truncated: bool = True  # a reply cut at max_tokens is rejected, not kept half-written

    def validate(self) -> None:
        super().validate()
        if not self.styles:
            raise ConfigError("operator 'rewrite': give at least one style")
        self.load_prompts()  # a missing style fails when the recipe loads, not mid-run

    def check_prompts(self) -> None:
        llm_text.check(self.cfg, self.prompt_file)
        known = self.cfg.get("styles") or {}
        unknown = [s for s in self.styles if s not in known]
        if unknown:
            raise ConfigError(f"operator 'rewrite': unknown style(s) {unknown}; {self.prompt_file} defines {list(known)}")

    def _sampling(self):
        return llm_text.sampling_from(self.cfg, temperature=self.temperature, max_tokens=self.max_tokens,
                                      seed=self.run_seed)

    def provenance(self) -> dict:
        from dataforge.generate import provenance

        return provenance.of(self.model, {"rewrite": self._sampling()})

    def generate(self, texts: list[str], seeds: np.ndarray, slots: np.ndarray) -> Generated:
        variants = S.pick(list(self.styles), seeds, slots)
        guidance = self.cfg["styles"]
        items = [{"text": t, "style": v, "guidance": guidance[v], "field": self.field}
                 for t, v in zip(texts, variants)]
        # keys from (row seed, slot): each new row draws its prompt of a searched mixture
        docs, pv = self.prompt_variants([f"{a}:{b}" for a, b in zip(seeds.tolist(), slots.tolist())])
        out, errors = llm_text.run(self.model, self.cfg, items, self._sampling(), self.reject_truncated, docs)
        return Generated(out, variants, errors, pv)
