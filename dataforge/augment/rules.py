"""Locate and load the rules files augmenters use (YAML via safe_load, Jinja in a sandbox)."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml

from dataforge.errors import ConfigError, MissingResourceError

from dataforge.paths import RULES


def find(path: str, what: str, hint: str = "") -> Path:
    """A path as given (absolute or relative to the working directory), else under the repo's rules/."""
    p = Path(path)
    if p.exists():
        return p
    if not p.is_absolute():
        rel = Path(*p.parts[1:]) if p.parts and p.parts[0] == "rules" else p
        if (RULES / rel).exists():
            return RULES / rel
    raise MissingResourceError(f"{what} not found: {path}{'; ' + hint if hint else ''}")


@lru_cache(maxsize=32)
def load_yaml(path: str) -> dict:
    p = find(path, "prompt file")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: YAML error: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: expected a mapping")
    return doc


def digest(path: Path) -> str:
    """Content hash of a rules file, for operator fingerprints (edit the file -> rerun the stage)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def template(text: str):
    return _env().from_string(text)


def render(source: str, values: dict) -> str:
    return template(source).render(**values).strip()
