"""Prompt types and modifiers, worded in rules/templates/_prompt_types.yaml.

Prompt types (one per output row, mixed by ratio): zero_shot, few_shot, cot, inversion.
Modifiers (drawn per output row): answer options shown/hidden, an explicit output format
(one_word, json, markdown; zero-shot rows only, so the format never disagrees with
exemplars or a rationale), and a system/role prompt.

Every wording is a plain template over the rendered pieces ({{ instruction }}, {{ input }},
{{ output }}, ...), compiled to a Polars expression like the fast path of the templates.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from dataforge.errors import ConfigError
from dataforge.templates import plain
from dataforge.templates.spec import RULES
from dataforge.rulefiles import parse_yaml

PROMPT_TYPES = ("zero_shot", "few_shot", "cot", "inversion")
FORMATS = ("one_word", "json", "markdown")
FILE = RULES / "_prompt_types.yaml"


@dataclass(frozen=True)
class Wording:
    doc: dict
    digest: str

    def expr(self, *path: str) -> pl.Expr:
        node = self.doc
        for p in path:
            if not isinstance(node, dict) or p not in node:
                raise ConfigError(f"{FILE.name}: missing `{'.'.join(path)}`")
            node = node[p]
        parts = plain.parse(str(node))
        if parts is None:
            raise ConfigError(f"{FILE.name}: `{'.'.join(path)}` must only substitute {{{{ name }}}} fields")
        return plain.to_expr(parts)

    def get(self, *path: str, default=None):
        node = self.doc
        for p in path:
            if not isinstance(node, dict) or p not in node:
                return default
            node = node[p]
        return node

    def describe(self, ptype: str) -> str:
        return str(self.get("prompt_types", ptype, "description", default="")).strip()


@lru_cache(maxsize=4)
def _load(mtime: int) -> Wording:
    text = FILE.read_text(encoding="utf-8")
    doc = parse_yaml(text, str(FILE))
    return Wording(doc=doc or {}, digest=hashlib.sha256(text.encode()).hexdigest())


def wording() -> Wording:
    return _load(FILE.stat().st_mtime_ns)


def weights(spec: str | list | dict, what: str, allowed: tuple[str, ...]) -> dict[str, float]:
    """'a' | [a, b] | {a: 0.7, b: 0.3} -> normalised-later weights, names checked."""
    if isinstance(spec, str):
        spec = {spec: 1.0}
    elif isinstance(spec, list):
        spec = {s: 1.0 for s in spec}
    bad = [k for k in spec if k not in allowed]
    if bad:
        raise ConfigError(f"convert: unknown {what} {bad}; valid: {list(allowed)}")
    if any((not isinstance(v, (int, float))) or v < 0 for v in spec.values()) or sum(spec.values()) <= 0:
        raise ConfigError(f"convert: {what} weights must be non-negative numbers with a positive sum")
    # in the canonical order of `allowed`, never the recipe's: the draw maps one uniform number
    # onto this order, and the stage fingerprint sorts keys, so {a: .7, b: .3} and {b: .3, a: .7}
    # must draw alike
    return {k: float(spec[k]) for k in allowed if k in spec and spec[k] > 0}
