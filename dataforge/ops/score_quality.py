"""score_quality: quality of the response (0 refusal, truncated, degenerate .. 1 fine)."""
from __future__ import annotations

import polars as pl

from dataforge.ops.base import register
from dataforge.score import heuristics as H
from dataforge.score import quality as Q
from dataforge.ops.base_judged import JudgedScore
from dataforge.score import numbers, restated
from dataforge.score.rules import digest, digest_with_files, load_yaml

FT_COLUMN = "score_quality_ft"


@register
class ScoreQuality(JudgedScore):
    """Quality of the response in [0, 1]: refusal, disclaimer, truncation, garbling, repetition, length fit.

    Rule-based: the cleaning rules' defect detectors (refusals, AI disclaimers, truncation,
    garbled word order, unclosed code, repetition; task- and instruction-aware), a continuous
    garble rate, n-gram and line repetition, length fit per task (rules/score/quality.yaml). When a `score_quality_ft` column (the fastText quality
    classifier of the cleaning step) is present it is blended in with the weight
    `blend.fasttext` of quality.yaml; an LLM judge ensemble may be blended on top."""

    name = "score_quality"
    aspect = "quality"
    rules_files = (H.QUALITY,)
    inputs = ("instruction", "input", "output", "task", "meta")

    def fingerprint_extra(self):
        # (the padding phrases are the file quality.yaml names, not a fixed path)
        return [super().fingerprint_extra(), Q.detector_digest(load_yaml(H.QUALITY)),
                digest_with_files(H.QUALITY, "filler"), digest(numbers.FILE),
                digest_with_files(H.QUALITY, "constraints.code_language"),
                digest(*restated.word_files(load_yaml(H.QUALITY).get("restated_request") or {}))]

    def heuristic(self, df: pl.DataFrame) -> pl.Series:
        h = Q.quality(df)
        if FT_COLUMN not in df.columns:
            return h
        w = float(load_yaml(H.QUALITY).get("blend", {}).get("fasttext", 0.5))
        ft = df[FT_COLUMN].cast(pl.Float64).clip(0.0, 1.0)
        return pl.select(pl.coalesce(pl.lit((1 - w) * h + w * ft), pl.lit(h))).to_series()
