"""`back_translate`: say the same thing in other words by translating to a pivot language and back.

Two engines:
- `marian` (default): seq2seq translation models through transformers, batched and sorted
  by length (MarianMT / opus-mt, what nlpaug's BackTranslationAug wraps). Give local model
  folders in `models: {en-de: PATH, de-en: PATH}`; pairs not listed use `model_template`
  (Helsinki-NLP/opus-mt-{src}-{tgt}), which must already be in the Hugging Face cache.
- `llm`: the run's LLM (or this step's `llm:`) with the translation prompt in
  rules/prompts/back_translate.yaml, greedy decoding.

Each new row goes through one pivot; a row's `per_row` slots take different pivots, so
`per_row` is at most the number of pivots. Only rows whose `lang` is `source_lang` are used.
Numbers must survive the round trip (`keep_numbers`, on by default).
"""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl

from dataforge.augment import llm_text
from dataforge.augment import seeds as S
from dataforge.ops.base_augment import AugmentOp, Generated
from dataforge.errors import ConfigError
from dataforge.ops.base import param, register
from dataforge.ops.base_prompt import PromptFileOp


@register
class BackTranslate(PromptFileOp, AugmentOp):
    """Back-translation through pivot languages with MarianMT-style models or an LLM."""

    name = "back_translate"
    suffix: ClassVar[str] = "+bt"
    keep_numbers_default: ClassVar[bool] = True
    plumbing: ClassVar[tuple[str, ...]] = ("batch_size", "device", "prompt_file")

    engine: Literal["marian", "llm"] = "marian"
    pivots: list[str] = param(default_factory=lambda: ["de"])
    source_lang: str = "en"
    models: dict[str, str] = param(default_factory=dict)  # "en-de" -> model folder or hub id
    model_template: str = "Helsinki-NLP/opus-mt-{src}-{tgt}"
    batch_size: int = 32
    num_beams: int = 1
    max_new_tokens: int = 256
    device: str | None = None
    llm: str | None = None  # engine llm: backend spec; default the run's --llm
    prompt_file: str = "back_translate.yaml"  # engine llm

    def validate(self) -> None:
        super().validate()
        if not self.pivots:
            raise ConfigError("operator 'back_translate': give at least one pivot language, e.g. pivots: [de]")
        if self.source_lang in self.pivots:
            raise ConfigError(f"operator 'back_translate': the pivots {self.pivots} include the source language")
        if self.per_row > len(self.pivots):
            raise ConfigError(f"operator 'back_translate': per_row ({self.per_row}) can be at most the number "
                              f"of pivots ({len(self.pivots)}): each new row of a text uses another pivot")

    def prompt_files(self) -> list[str]:
        return [self.prompt_file] if self.engine == "llm" else []

    def check_prompts(self) -> None:
        llm_text.check(self.cfg, self.prompt_file)
        names = self.cfg.get("languages") or {}
        unknown = [c for c in [self.source_lang, *self.pivots] if c not in names]
        if unknown:
            raise ConfigError(f"operator 'back_translate': no language name for {unknown} in "
                              f"{self.prompt_file} (`languages:`); add them there")

    def eligible(self) -> pl.Expr:
        return pl.col("lang").fill_null(self.source_lang) == self.source_lang

    def model_for(self, src: str, tgt: str) -> str:
        return self.models.get(f"{src}-{tgt}") or self.model_template.format(src=src, tgt=tgt)

    def setup(self) -> None:
        if self.engine == "llm":
            super().setup()  # the prompt file, checked, then the LLM
        else:
            from dataforge.augment import translate

            # load every model now, so a missing one fails before any work is done
            self._mt = {(a, b): translate.load(self.model_for(a, b), self.device)
                        for p in self.pivots for a, b in ((self.source_lang, p), (p, self.source_lang))}

    def provenance(self) -> dict:
        if self.engine == "llm":
            from dataforge.generate import provenance

            return provenance.of(self.model, {"translate": self._llm_sampling()})
        from dataforge.llm.revision import revision_of

        pairs = {f"{a}-{b}": self.model_for(a, b) for (a, b) in self._mt}
        return {"backend": "transformers-seq2seq", "model": pairs,
                "revision": {k: revision_of(v) for k, v in pairs.items()},
                "sampling": {"translate": {"num_beams": self.num_beams, "do_sample": False,
                                           "max_new_tokens": self.max_new_tokens}}}

    def _llm_sampling(self):
        return llm_text.sampling_from(self.cfg, max_tokens=self.max_new_tokens, seed=self.run_seed)

    def generate(self, texts: list[str], seeds: np.ndarray, slots: np.ndarray) -> Generated:
        variants = S.pick(list(self.pivots), seeds, slots)
        out: list[str | None] = [None] * len(texts)
        errors: list[str | None] = [None] * len(texts)
        docs, pv = (self.prompt_variants([f"{a}:{b}" for a, b in zip(seeds.tolist(), slots.tolist())])
                    if self.engine == "llm" else ([None] * len(texts), None))  # both legs: the row's prompt
        for pivot in dict.fromkeys(variants):
            idx = [i for i, v in enumerate(variants) if v == pivot]
            there, err1 = self._translate([texts[i] for i in idx], self.source_lang, pivot, [docs[i] for i in idx])
            ok = [j for j, t in enumerate(there) if t is not None]
            back, err2 = self._translate([there[j] for j in ok], pivot, self.source_lang, [docs[idx[j]] for j in ok])
            for j, e in enumerate(err1):
                errors[idx[j]] = e and f"{self.source_lang}->{pivot}: {e}"
            for j, t, e in zip(ok, back, err2):
                out[idx[j]] = t
                errors[idx[j]] = e and f"{pivot}->{self.source_lang}: {e}"
        return Generated(out, variants, errors, pv)

    def _translate(self, texts: list[str], src: str, tgt: str,
                   docs: list | None = None) -> tuple[list[str | None], list[str | None]]:
        if not texts:
            return [], []
        if self.engine == "marian":
            res = self._mt[(src, tgt)].translate(texts, batch_size=self.batch_size, num_beams=self.num_beams,
                                                 max_new_tokens=self.max_new_tokens)
            return [t or None for t in res], [None if t else "empty translation" for t in res]
        names = self.cfg["languages"]
        items = [{"text": t, "source": names[src], "target": names[tgt], "source_code": src, "target_code": tgt}
                 for t in texts]
        return llm_text.run(self.model, self.cfg, items, self._llm_sampling(),
                            docs=docs if docs and docs[0] is not None else None)
