"""Load the declarative knowledge of the scores from rules/ (YAML with safe_load, text lists)."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml

from dataforge.errors import ConfigError, MissingResourceError

from dataforge.paths import RULES


def rules_path(rel: str) -> Path:
    p = Path(rel)
    if not p.is_absolute():
        p = RULES / rel
    if not p.exists():
        raise MissingResourceError(f"rules file not found: {p}")
    return p


@lru_cache(maxsize=64)
def load_yaml(rel: str) -> dict:
    p = rules_path(rel)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: YAML error: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: expected a mapping")
    return doc


@lru_cache(maxsize=64)
def load_words(rel: str) -> tuple[str, ...]:
    """One entry a line; '#' starts a comment; lower-cased."""
    lines = rules_path(rel).read_text(encoding="utf-8").splitlines()
    return tuple(w.strip().lower() for w in lines if w.strip() and not w.lstrip().startswith("#"))


def digest(*rels: str) -> str:
    """Content hash of rules files, for operator fingerprints (edit a list -> rerun the stage)."""
    h = hashlib.sha256()
    for rel in rels:
        h.update(rules_path(rel).read_bytes())
    return h.hexdigest()[:16]
