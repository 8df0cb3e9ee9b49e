"""Load the declarative knowledge of the scores from rules/ (YAML with safe_load, text lists)."""
from __future__ import annotations

from pathlib import Path

from dataforge import rulefiles
from dataforge.paths import RULES


def rules_path(rel: str) -> Path:
    return rulefiles.resolve(rel if Path(rel).is_absolute() else RULES / rel)


def load_yaml(rel: str) -> dict:
    return rulefiles.load_yaml(rules_path(rel))


def load_words(rel: str) -> tuple[str, ...]:
    return rulefiles.load_words(rules_path(rel))


def digest(*rels: str) -> str:
    return rulefiles.digest(*(rules_path(r) for r in rels))


def digest_with_files(rel: str, *sections: str) -> str:
    """Digest of a rules YAML and of the word files its `sections` name (`file:`): a changed
    list changes the scores as much as a changed pattern."""
    cfg = load_yaml(rel)
    files = []
    for s in sections:  # "a.b": the section `b` inside `a`
        node = cfg
        for part in s.split("."):
            node = (node or {}).get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get("file"):
            files.append(node["file"])
    return digest(rel, *files)
