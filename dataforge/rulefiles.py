"""Reading the shared files under rules/: lookup, safe YAML with line numbers, word lists,
content digests for operator fingerprints, and the one sandboxed Jinja environment.

Recipes, templates and prompts are shared files, so YAML is always `safe_load`ed and Jinja
always runs in a SandboxedEnvironment with undefined names as errors.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml

from dataforge.errors import ConfigError, MissingResourceError
from dataforge.paths import RULES


def resolve(path: str | Path, *, what: str = "rules file", prefer: str | None = None,
            hint: str = "") -> Path:
    """Find a rules file: a bare name under RULES/prefer first (so a same-named file in the
    working directory cannot shadow a bundled one), then the path as given, then under RULES/."""
    p = Path(path)
    if prefer and len(p.parts) == 1 and (RULES / prefer / p).exists():
        return RULES / prefer / p
    if p.exists():
        return p
    if not p.is_absolute():
        rel = Path(*p.parts[1:]) if p.parts[:1] == ("rules",) and len(p.parts) > 1 else p
        if (RULES / rel).exists():
            return RULES / rel
    looked = f" (looked in {RULES / prefer} and .)" if prefer else ""
    raise MissingResourceError(f"{what} not found: {path}{looked}{'; ' + hint if hint else ''}")


def parse_yaml(text: str, where: str):
    """yaml.safe_load with errors that name the file and line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{where}{at}: YAML error: {getattr(e, 'problem', e)}") from None


@lru_cache(maxsize=128)
def load_yaml(path: Path) -> dict:
    doc = parse_yaml(Path(path).read_text(encoding="utf-8"), str(path))
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a YAML mapping")
    return doc


@lru_cache(maxsize=128)
def load_words(path: Path) -> tuple[str, ...]:
    """One entry a line; '#' starts a comment; lower-cased."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return tuple(w.strip().lower() for w in lines if w.strip() and not w.lstrip().startswith("#"))


def digest(*paths: Path) -> str:
    """Content hash of rules files, for operator fingerprints (edit a file -> rerun the stage)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def jinja_env(*, templates: Path | None = None, html: bool = False, keep_trailing_newline: bool = False,
              trim_blocks: bool = False, lstrip_blocks: bool = False, strict: bool = True):
    """The one way dataforge makes a Jinja environment: sandboxed (templates are shared
    files, so untrusted code), and an undefined name is an error, never "" or "None".

    `templates`: a folder to load named templates from; `html`: autoescape .html/.j2 files;
    `strict=False` renders undefined values as empty: a caller that sets it says why.
    """
    from jinja2 import FileSystemLoader, StrictUndefined, Undefined, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined if strict else Undefined,
        loader=FileSystemLoader(templates) if templates is not None else None,
        autoescape=select_autoescape(["html", "j2"]) if html else False,
        keep_trailing_newline=keep_trailing_newline, trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks)


@lru_cache(maxsize=2)
def sandbox(keep_trailing_newline: bool = False):
    return jinja_env(keep_trailing_newline=keep_trailing_newline)


@lru_cache(maxsize=512)
def template(text: str, keep_trailing_newline: bool = False):
    return sandbox(keep_trailing_newline).from_string(text)
