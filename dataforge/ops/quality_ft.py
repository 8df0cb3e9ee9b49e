"""Score rows with a fastText quality classifier trained by `dataforge train-classifier`;
optionally reject rows whose score is below a threshold."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.clean import fasttext_io as F
from dataforge.clean import quality_model as Q
from dataforge.errors import ConfigError
from dataforge.ops.base import MapOp, register, reject_where
from dataforge.io.atomic import sha256_file


@register
class QualityFastText(MapOp):
    """fastText quality score `score_quality_ft` in [0, 1] = P(high quality); filter below `threshold`."""

    name = "quality_ft"
    model: str  # a model saved by `dataforge train-classifier`
    fields: list[str] | None = None  # default: the fields the model was trained on
    threshold: float | None = None  # reject rows scoring below; None only scores
    outputs = ("score_quality_ft",)

    def validate(self):
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise ConfigError(f"quality_ft: threshold must be in [0, 1], got {self.threshold}")

    def _fields(self) -> list[str]:
        return self.fields or Q.load_meta(self.model).get("fields") or ["instruction", "input", "output"]

    def columns_in(self):
        return self._fields()

    def fingerprint_extra(self):
        try:
            return sha256_file(self.model)
        except OSError:
            return None

    def setup(self):
        self._model = F.load(self.model)

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        self.ensure_setup()
        texts = df.select(Q.text_expr(self._fields(), df.columns).alias("t"))["t"].to_list()
        labels, probs = F.predict(self._model, texts, k=-1)
        score = Q.positive_probability(labels, probs) if texts else np.zeros(0)
        out = df.with_columns(pl.Series("score_quality_ft", score, dtype=pl.Float64).round(4))
        if self.threshold is None:
            return out
        low = pl.col("score_quality_ft") < self.threshold
        return reject_where(out, low, pl.format("low_quality_ft: score {} < {}", pl.col("score_quality_ft"),
                                                pl.lit(self.threshold)))
