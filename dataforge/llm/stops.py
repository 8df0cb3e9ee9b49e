"""Post-processing shared by backends that cannot stop on strings themselves (transformers)."""
from __future__ import annotations

from typing import Sequence


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the earliest stop string; say whether one was found."""
    best = -1
    for s in stops:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and (best == -1 or i < best):
            best = i
    return (text[:best], True) if best != -1 else (text, False)
