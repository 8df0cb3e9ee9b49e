"""`eda`: word-level and character-level noise through nlpaug (Wei & Zou 2019, "EDA").

Word actions: synonym (replacement), insert (a synonym at a random position), swap,
delete; character actions: keyboard (typos of neighbouring keys), ocr (OCR confusions),
spelling (common misspellings). Synonyms come from the WordNet-derived table in
rules/synonyms/, so nothing needs WordNet, nltk data or a download at run time.

Each new row uses one action; a row's `per_row` slots rotate through `actions` from a
per-row starting point, so a dataset gets an even mix. nlpaug draws from Python's and
NumPy's global generators: both are seeded per row (seed + row id + slot) and restored
afterwards, so results do not depend on batches.
"""
from __future__ import annotations

import random
from typing import ClassVar

import numpy as np
import polars as pl

from dataforge.augment import rules as R
from dataforge.augment import seeds as S
from dataforge.augment import synonyms as syn
from dataforge.ops.base_augment import AugmentOp, Generated
from dataforge.errors import ConfigError, MissingResourceError
from dataforge.ops.base import param, register

ACTIONS = ("synonym", "insert", "swap", "delete", "keyboard", "ocr", "spelling")
NEEDS_TABLE = {"synonym", "insert"}


@register
class EDA(AugmentOp):
    """Easy data augmentation: synonym replacement/insertion, swap, deletion, character noise."""

    name = "eda"
    version = "2"  # 2: quoted text kept, no added word-order scrambling (guards)
    suffix: ClassVar[str] = "+eda"
    keep_quotes_default: ClassVar[bool] = True  # random words must not change what the request quotes

    actions: list[str] = param(default_factory=lambda: ["synonym", "insert", "swap", "delete"])
    aug_p: float = 0.1  # share of words (or, for character actions, of words touched) changed
    aug_max: int | None = 10  # at most this many words changed per text
    synonyms: str = syn.DEFAULT_TABLE
    # languages its synonym table and word noise suit ([] = any): rows whose `lang` is another
    # are not augmented, nor "en" rows whose text is not mostly ASCII letters (`lang` defaults to
    # en; a swapped German word order or a Hindi question without its subject passes every guard)
    langs: list[str] = param(default_factory=lambda: ["en"])

    def validate(self) -> None:
        super().validate()
        bad = [a for a in self.actions if a not in ACTIONS]
        if bad or not self.actions:
            raise ConfigError(f"operator 'eda': unknown action(s) {bad or '(none)'}; valid: {list(ACTIONS)}")
        if not 0.0 < self.aug_p <= 1.0:
            raise ConfigError(f"operator 'eda': aug_p must be within (0, 1], got {self.aug_p}")

    def eligible(self) -> pl.Expr:
        if not self.langs:
            return pl.lit(True)
        # `lang` is "en" unless a source or langid said otherwise: English must also look it
        lang = pl.col("lang").cast(pl.Utf8).fill_null("en")
        text = pl.col(self.field).fill_null("")
        latin = text.str.count_matches(r"[A-Za-z]") >= 0.9 * text.str.count_matches(r"\p{L}")
        return lang.is_in(self.langs) & ((lang != "en") | latin)

    def fingerprint_extra(self):
        if NEEDS_TABLE & set(self.actions):
            return R.digest(syn.table_path(self.synonyms))
        return None

    def setup(self) -> None:
        self._augs = {a: self._build(a) for a in dict.fromkeys(self.actions)}

    def _build(self, action: str):
        try:
            import nlpaug.augmenter.char as nac
            import nlpaug.augmenter.word as naw
        except ImportError:
            raise MissingResourceError("`eda` needs nlpaug: pip install nlpaug") from None
        p, mx = self.aug_p, self.aug_max
        words = dict(tokenizer=syn.tokenize, reverse_tokenizer=syn.detokenize)
        if action == "synonym":
            return syn.synonym_replace_aug(syn.load_table(self.synonyms), p, mx)
        if action == "insert":
            return syn.synonym_insert_aug(syn.load_table(self.synonyms), p, mx)
        if action in ("swap", "delete"):
            return naw.RandomWordAug(action=action, aug_p=p, aug_max=mx, stopwords_regex=syn.NEWLINE_REGEX, **words)
        if action == "spelling":
            return naw.SpellingAug(aug_p=p, aug_max=mx, stopwords_regex=syn.NEWLINE_REGEX, **words)
        char = dict(aug_word_p=p, aug_word_max=mx, aug_char_max=2, **words)
        if action == "keyboard":
            return nac.KeyboardAug(include_special_char=False, include_numeric=False, **char)
        return nac.OcrAug(**char)

    def provenance(self) -> dict:
        from importlib.metadata import version

        table = syn.table_path(self.synonyms) if NEEDS_TABLE & set(self.actions) else None
        return {"backend": f"nlpaug {version('nlpaug')}", "model": None, "revision": None,
                "synonyms": {"table": table.name, "sha256": R.digest(table)[:16]} if table else None}

    def generate(self, texts: list[str], seeds: np.ndarray, slots: np.ndarray) -> Generated:
        variants = S.pick(list(self.actions), seeds, slots)
        row_seeds = (seeds.astype(np.int64) * 1_000_003 + slots) % 2**32
        out: list[str | None] = []
        errors: list[str | None] = []
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            for text, action, s in zip(texts, variants, row_seeds):
                random.seed(int(s))
                np.random.seed(int(s))
                try:
                    res = self._augs[action].augment(text)
                    out.append(res[0] if isinstance(res, list) and res else None)
                    errors.append(None if out[-1] is not None else f"{action}: no output")
                except Exception as e:  # nlpaug raises plain exceptions on odd inputs
                    out.append(None)
                    errors.append(f"{action}: {type(e).__name__}: {e}")
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        return Generated(out, variants, errors)
