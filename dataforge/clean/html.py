"""Decode HTML entities left in text by scrapes, including the broken forms some corpora carry.

AG News (and other crawled sets) hold `&lt;b&gt;` markup, `&quot;`, and entities whose `&` was
replaced by a space: `doesn #39;t`, `said  quot;We`. `decode` turns them back into the
characters they stand for:

    "Dell Inc. &lt;DELL.O&gt; said"        -> "Dell Inc. <DELL.O> said"
    "Sony #146;s player"                   -> "Sony’s player"      (cp1252 codes, as browsers do)
    "In  quot;helping them quot;"          -> 'In "helping them"'
    "&lt;B&gt;Washington Post&lt;/B&gt;"   -> "Washington Post"    (escaped markup tags are dropped)

Only rows that contain an entity-like pattern go through Python (`html.unescape`); the rest
stay in Polars. A bare `#12;` becomes a character only when it names a printable one.
"""
from __future__ import annotations

import html
import re

import polars as pl

from dataforge.clean.text import map_matching

_NAMED = "quot|amp|lt|gt|apos|nbsp|mdash|ndash|hellip|lsquo|rsquo|ldquo|rdquo"
# what marks a row for decoding (Rust regex, used by Polars): real entities and the broken forms
SUSPECT = rf"&(?:#\d{{1,7}}|#[xX][0-9a-fA-F]{{1,6}}|[a-zA-Z][a-zA-Z0-9]{{1,31}});|(?:^|\s)(?:#\d{{2,5}}|{_NAMED});"
# markup that was escaped (it shows as text, never meant to): dropped, tag names of prose markup only
_ESCAPED_TAG = re.compile(
    r"&lt;/?(?:a|b|i|u|p|br|hr|font|strong|em|span|div|img|sup|sub|small|big|center|blockquote|q)"
    r"(?:\s[^&<>]*?)?/?&gt;", re.IGNORECASE)
# an entity whose `&` became a space (or that starts the text): the space was the ampersand
_BROKEN = re.compile(rf"( |^|(?<=\s))(#\d{{2,5}}|{_NAMED});")


def _repair(m: re.Match) -> str:
    body = m.group(2)
    text = html.unescape(f"&{body};")
    if body.startswith("#") and not (text.isprintable() or text == "\xa0") or text == f"&{body};":
        return m.group(0)  # "#12;" that names a control character: leave the text alone
    return f"&{body};"


def decode_text(text: str) -> str:
    t = _ESCAPED_TAG.sub("", text)
    t = _BROKEN.sub(_repair, t)
    return html.unescape(t)


def decode(s: pl.Series) -> pl.Series:
    """Decode entities in a string Series; rows without any are returned untouched."""
    return map_matching(s, SUSPECT, decode_text)


def expr(e: pl.Expr) -> pl.Expr:
    return e.map_batches(decode, return_dtype=pl.Utf8)
