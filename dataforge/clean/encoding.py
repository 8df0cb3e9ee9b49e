"""Mojibake: UTF-8 text that was decoded as Windows-1252 (or Latin-1) somewhere upstream.

Each accented letter or typographic mark then shows as two or three characters:

    "cafÃ©"        -> "café"        (é = C3 A9, read as "Ã" "©")
    "donâ€™t"      -> "don’t"       (’ = E2 80 99, read as "â" "€" "™")
    "180Â°C"       -> "180°C"       (° = C2 B0, read as "Â" "°")

`repair` re-encodes each such run to its bytes and decodes them as UTF-8. It is conservative:
only rows with a telltale sequence (`SUSPECT`: "Ã" or "Â" before a Latin-1 symbol or a
Windows-1252 mark, or "â€") are touched, and a run is replaced only when its bytes are valid
UTF-8 for a letter (2 bytes) or a punctuation mark or symbol (3 bytes starting E2: U+2000-U+2FFF).
So "café…”" (é, …, ” are bytes E9 85 94, the start of a CJK character) stays as it is.
Only the matching rows go through Python; the rest stay in Polars.
"""
from __future__ import annotations

import re

import polars as pl

from dataforge.clean.text import map_matching

# the characters Windows-1252 gives to bytes 0x80-0x9F, and the five bytes it leaves undefined
# (decoders that fall back to Latin-1 give those as C1 controls)
_CP1252_HIGH = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ"
_BYTE = {ch: 0x80 + i for i, ch in enumerate(_CP1252_HIGH)} | {chr(b): b for b in range(0xA0, 0x100)}
# a UTF-8 continuation byte (0x80-0xBF) as Windows-1252 or Latin-1 shows it
_CONT = "[" + re.escape(_CP1252_HIGH) + "\u0080-\u009f\u00a0-\u00bf]"
# a lead byte and its continuation bytes: 2 bytes (C2-DF), 3 bytes from E2 (punctuation, symbols)
_RUN = re.compile(f"[\u00c2-\u00df]{_CONT}|\u00e2{_CONT}{{2}}")
# what marks a row (Rust regex, used by Polars): sequences no real text has
# (Ã Â: Latin letters and marks; â€: punctuation; â‚: currency signs and subscripts, "â‚¬" for
# "€"; Ð Ñ: Cyrillic)
SUSPECT = "[ÃÂÐÑ][\u00a0-\u00bf" + _CP1252_HIGH.replace("\u0081", "").replace("\u008d", "").replace(
    "\u008f", "").replace("\u0090", "").replace("\u009d", "") + "]|â€|â‚"


def _fix(m: re.Match) -> str:
    run = m.group(0)
    try:
        out = bytes(_BYTE.get(ch, ord(ch) if ord(ch) < 0xA0 else 0) for ch in run).decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return run
    # a letter or mark (U+0080-U+07FF), or general punctuation, currency, letterlike symbols
    return out if len(out) == 1 and (0x80 <= ord(out) < 0x800 or 0x2000 <= ord(out) < 0x3000) else run


def repair_text(text: str) -> str:
    return _RUN.sub(_fix, text)


def repair(s: pl.Series) -> pl.Series:
    """Repair mojibake in a string Series; rows without a telltale sequence are returned untouched."""
    return map_matching(s, SUSPECT, repair_text)


def expr(e: pl.Expr) -> pl.Expr:
    return e.map_batches(repair, return_dtype=pl.Utf8)
