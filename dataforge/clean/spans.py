"""Listed phrases the request says come from its text ("Extract five keywords that appear
verbatim in the text" -> "fishing cooperative, climate change", where the text never says
"climate change"). `span_not_in_passage` (rules/filters/default.yaml) reads one answer span;
this reads a list of them: comma-, semicolon- or line-separated, bulleted, or a JSON array."""
from __future__ import annotations

import json
import re

from dataforge.words import unfenced

MAX_ITEMS = 30
MAX_ITEM_WORDS = 8  # longer items are sentences, not keywords: the answer is no such list


def _norm(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def items(answer: str) -> list[str] | None:
    """The answer's listed phrases, normalised; None where it is no list of short phrases."""
    body = unfenced(answer)
    parsed = None
    if body.startswith("["):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    if isinstance(parsed, list):
        if not all(isinstance(x, str) for x in parsed):
            return None
        raw = parsed
    else:
        raw = re.split(r"\s*(?:[,;\n|])\s*", body)
    out = []
    for x in raw:
        x = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)]|#)\s*", "", x)
        x = _norm(x).strip(" \"'`*_.")
        if x:
            out.append(x)
    if not out or len(out) > MAX_ITEMS or any(len(x.split()) > MAX_ITEM_WORDS for x in out):
        return None
    return out


def item_not_in_source(source: str, answer: str) -> str | None:
    """The first listed phrase of `answer` that `source` (the request and its input) does not
    hold, case and spacing aside; None where every phrase is there or the answer is no list."""
    got = items(answer)
    if not got:
        return None
    hay = _norm(source)
    # (hyphens and spaces may differ: "solar-powered" / "solar powered")
    flat = hay.replace("-", " ")
    for x in got:
        if x not in hay and x.replace("-", " ") not in flat:
            return x[:40]
    return None
