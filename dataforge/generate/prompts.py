"""Prompt files of the LLM-driven operators: found under rules/prompts, rendered in a sandbox.

Pure functions; the operators' side of the convention is `dataforge.ops.base_prompt.PromptFileOp`."""
from __future__ import annotations

from pathlib import Path

from dataforge import rulefiles
from dataforge.errors import ConfigError


def find(path: str) -> Path:
    """A bare file name is looked up in rules/prompts/ first (so a same-named file in the
    working directory cannot shadow it); a path with folders is taken as given, then under rules/."""
    return rulefiles.resolve(path, what="prompt file", prefer="prompts")


def load(path: str) -> dict:
    return rulefiles.load_yaml(find(path))


def digest(path: str) -> str:
    """Content hash for operator fingerprints: editing a prompt reruns the stage."""
    return rulefiles.digest(find(path))


def section(doc: dict, key: str, where: str) -> dict:
    if key not in doc or not isinstance(doc[key], dict):
        raise ConfigError(f"{where}: prompt file lacks the `{key}` section")
    return doc[key]


def render(text: str, **values) -> str:
    """Render a prompt template (sandboxed Jinja; a missing variable is an error)."""
    return rulefiles.template(text, True).render(**values)


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
