"""The fast path: templates that only substitute fields become one Polars `concat_str`.

A template is plain when its only Jinja is `{{ name }}` or `{{ name | f }}` with f one of
FILTERS; anything else ({% if %}, loops, indexing, other filters) renders with Jinja.
The output is identical to Jinja's for the same string variables.
"""
from __future__ import annotations

import re
from typing import Callable

import polars as pl

_VAR = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*((?:\|\s*[a-z_]+\s*)*)-?\}\}")
_JINJA = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")

FILTERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "lower": lambda e: e.str.to_lowercase(),
    "upper": lambda e: e.str.to_uppercase(),
    "trim": lambda e: e.str.strip_chars(),
}

Part = str | tuple[str, tuple[str, ...]]  # literal text, or (variable, filters)


def parse(src: str) -> list[Part] | None:
    """Split into literals and variables, or None if the template needs Jinja."""
    parts: list[Part] = []
    pos = 0
    for m in _VAR.finditer(src):
        lit = src[pos:m.start()]
        if _JINJA.search(lit):
            return None
        if lit:
            parts.append(lit)
        filters = tuple(f.strip() for f in m.group(2).split("|") if f.strip())
        if any(f not in FILTERS for f in filters):
            return None
        if m.group(0).startswith("{{-") or m.group(0).endswith("-}}"):
            return None  # whitespace control: leave it to Jinja
        parts.append((m.group(1), filters))
        pos = m.end()
    tail = src[pos:]
    if _JINJA.search(tail):
        return None
    if tail:
        parts.append(tail)
    return parts


def names(parts: list[Part]) -> set[str]:
    return {p[0] for p in parts if isinstance(p, tuple)}


def to_expr(parts: list[Part]) -> pl.Expr:
    exprs = []
    for p in parts:
        if isinstance(p, str):
            exprs.append(pl.lit(p, dtype=pl.Utf8))
        else:
            e = pl.col(p[0]).cast(pl.Utf8)
            for f in p[1]:
                e = FILTERS[f](e)
            exprs.append(e)
    return pl.concat_str(exprs) if exprs else pl.lit("", dtype=pl.Utf8)
