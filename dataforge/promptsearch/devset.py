"""Labelled development sets for prompt search, built from instruction/response rows.

`planted_defects` turns clean rows into a judge's dev set: a share of the rows gets one
known defect (label 0), the rest stay intact (label 1). The defects are the failures a
quality judge must catch: a truncated response, a response to another instruction, a
refusal, a response that repeats itself. The labels are known by construction, so no
human annotation is needed to measure a judge prompt.
"""
from __future__ import annotations

import random

import polars as pl

from dataforge.errors import InputError

DEFECTS = ("truncated", "misaligned", "refusal", "repetitive")
REFUSAL = "I'm sorry, but I can't help with that request."


def _defect(kind: str, out: str, other: str) -> str:
    if kind == "truncated":
        words = out.split()
        return " ".join(words[: max(1, len(words) // 4)])
    if kind == "misaligned":
        return other
    if kind == "refusal":
        return REFUSAL
    first = out.split(". ")[0].strip().rstrip(".") + "."
    return " ".join([first] * 5)


def planted_defects(df: pl.DataFrame, share: float = 0.5, seed: int = 0, label: str = "label") -> pl.DataFrame:
    """Rows with `output`; returns them with `label` (1 intact, 0 defect) and `defect` (kind or null)."""
    if "output" not in df.columns or "instruction" not in df.columns:
        raise InputError(f"planted defects need `instruction` and `output` columns (have {df.columns})")
    if not 0.0 < share < 1.0:
        raise InputError("plant_defects must be a share strictly between 0 and 1")
    rows = df.to_dicts()
    if len(rows) < 2:
        raise InputError("planted defects need at least two rows")
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    bad = set(order[: max(1, round(share * len(rows)))])
    outs, labels, kinds, k = [], [], [], 0
    for i, r in enumerate(rows):
        if i in bad:
            kind = DEFECTS[k % len(DEFECTS)]
            k += 1
            other = rows[(i + 1 + rng.randrange(len(rows) - 1)) % len(rows)]["output"] or ""
            outs.append(_defect(kind, r["output"] or "", other))
            labels.append(0)
            kinds.append(kind)
        else:
            outs.append(r["output"])
            labels.append(1)
            kinds.append(None)
    return df.with_columns(pl.Series("output", outs, dtype=pl.Utf8), pl.Series(label, labels, dtype=pl.Int64),
                           pl.Series("defect", kinds, dtype=pl.Utf8))


def fewshot_texts(df: pl.DataFrame, scale: tuple[int, int] | None = None, label: str = "label") -> list[str]:
    """Few-shot examples from rows outside the dev set; with a judge scale, labelled scores."""
    out = []
    for r in df.to_dicts():
        text = f"Instruction: {r.get('instruction') or ''}\n"
        if r.get("input"):
            text += f"Input: {r['input']}\n"
        text += f"Response: {(r.get('output') or '')[:600]}"
        if scale is not None and r.get(label) is not None:
            text += f"\nScore: {scale[1] if r[label] else scale[0]}"
        out.append(text)
    return out
