"""Training data and metrics for the fastText quality classifier (positive vs negative)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

POS, NEG = "hq", "lq"


def text_expr(fields: list[str], columns: list[str]) -> pl.Expr:
    """The text a classifier sees: the chosen fields present, joined, on one line."""
    cols = [pl.col(f).cast(pl.Utf8).fill_null("") for f in fields if f in columns]
    return pl.concat_str(cols, separator=" ").str.replace_all(r"\s+", " ").str.strip_chars()


def fasttext_lines(texts: list[str], labels: list[str]) -> list[str]:
    return [f"__label__{lab} {t}" for t, lab in zip(texts, labels)]


def split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    k = int(round(n * holdout))
    return order[k:], order[:k]


def positive_probability(labels: list[list[str]], probs: list[np.ndarray]) -> np.ndarray:
    """P(positive) from a k=-1 prediction (every label with its probability)."""
    out = np.zeros(len(labels))
    for i, (ls, ps) in enumerate(zip(labels, probs)):
        d = dict(zip(ls, ps))
        out[i] = d.get(POS, 1.0 - d.get(NEG, 1.0))
    return np.clip(out, 0.0, 1.0)


def metrics(y_true: np.ndarray, p_pos: np.ndarray, threshold: float = 0.5) -> dict:
    pred = p_pos >= threshold
    tp = int((pred & y_true).sum())
    fp = int((pred & ~y_true).sum())
    fn = int((~pred & y_true).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    majority = max(y_true.mean(), 1 - y_true.mean()) if y_true.size else 0.0
    return {
        "n": int(y_true.size), "threshold": threshold,
        "precision": round(prec, 4), "recall": round(rec, 4),
        "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
        "accuracy": round(float((pred == y_true).mean()), 4) if y_true.size else 0.0,
        "baseline_accuracy": round(float(majority), 4),  # always predicting the larger class
    }


def meta_path(model_path: str | Path) -> Path:
    return Path(str(model_path) + ".json")


def save_meta(model_path: str | Path, meta: dict) -> None:
    from dataforge.io.atomic import write_json

    write_json(meta_path(model_path), meta)


def load_meta(model_path: str | Path) -> dict:
    p = meta_path(model_path)
    return json.loads(p.read_text()) if p.exists() else {}
