"""Rules files augmenters use (prompts, synonym tables): lookup, YAML, sandboxed rendering."""
from __future__ import annotations

from pathlib import Path

from dataforge import rulefiles


def find(path: str, what: str, hint: str = "") -> Path:
    """A path as given (absolute or relative to the working directory), else under rules/."""
    return rulefiles.resolve(path, what=what, hint=hint)


def load_yaml(path: str) -> dict:
    from dataforge.generate.prompts import check_templates

    f = find(path, "prompt file")
    doc = rulefiles.load_yaml(f)
    check_templates(doc, str(f))
    return doc


def digest(path: Path) -> str:
    return rulefiles.digest(path)


def render(source: str, values: dict) -> str:
    return rulefiles.template(source).render(**values).strip()
