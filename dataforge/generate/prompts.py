"""Prompt files for the generation operators: found under rules/prompts, rendered in a sandbox."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml

from dataforge.errors import ConfigError, MissingResourceError

from dataforge.paths import RULES


def find(path: str) -> Path:
    """A bare file name is looked up in the repo's rules/prompts/ first (so a same-named file in
    the working directory cannot shadow it); a path with folders is taken as given, then under rules/."""
    p = Path(path)
    bundled = RULES / "prompts" / p
    if len(p.parts) == 1 and bundled.exists():
        return bundled
    if p.exists():
        return p
    if not p.is_absolute():
        rel = Path(*p.parts[1:]) if p.parts[:1] == ("rules",) and len(p.parts) > 1 else p
        if (RULES / rel).exists():
            return RULES / rel
    raise MissingResourceError(f"prompt file not found: {path} (looked in {RULES / 'prompts'} and .)")


@lru_cache(maxsize=32)
def load(path: str) -> dict:
    p = find(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: YAML error: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: a prompt file is a YAML mapping")
    return doc


def digest(path: str) -> str:
    """Content hash for operator fingerprints: editing a prompt reruns the stage."""
    return hashlib.sha256(find(path).read_bytes()).hexdigest()[:16]


def section(doc: dict, key: str, where: str) -> dict:
    if key not in doc or not isinstance(doc[key], dict):
        raise ConfigError(f"{where}: prompt file lacks the `{key}` section")
    return doc[key]


@lru_cache(maxsize=1)
def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=256)
def _template(text: str):
    return _env().from_string(text)


def render(text: str, **values) -> str:
    """Render a prompt template (sandboxed Jinja; a missing variable is an error)."""
    return _template(text).render(**values)


def sampling(section_: dict, overrides: dict | None = None, **fixed):
    """A Sampling from a prompt section's `sampling:` mapping, then step overrides, then `fixed`."""
    from dataforge.llm.base import Sampling

    values = {**(section_.get("sampling") or {}), **(overrides or {}), **fixed}
    for k in ("stop", "choice"):
        if values.get(k) is not None:
            values[k] = tuple(values[k])
    try:
        return Sampling(**values)
    except TypeError as e:
        raise ConfigError(f"sampling settings {values}: {e}") from None
