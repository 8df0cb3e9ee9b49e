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


class YMap(dict):
    """A YAML mapping that remembers where it stood: `line` (1-based) and each key's line."""

    line: int = 0
    lines: dict


class YList(list):
    """A YAML sequence with its `line` and each item's line."""

    line: int = 0
    lines: list


def line_of(node, key=None) -> int | None:
    """Line (1-based) of `node`, or of `key` inside a YMap / index inside a YList; None if unknown."""
    if key is not None:
        lines = getattr(node, "lines", None)
        try:
            return lines[key] if lines is not None else None
        except (KeyError, IndexError, TypeError):
            return None
    return getattr(node, "line", None) or None


def at(where: str, node=None, key=None) -> str:
    """'file:LINE' for a node (or a key in it); just 'file' when the line is unknown."""
    line = line_of(node, key) if node is not None else None
    if line is None and key is not None:
        line = line_of(node)
    return f"{where}:{line}" if line else where


class _Loader(yaml.SafeLoader):
    """safe_load that keeps line numbers and refuses duplicate keys (YAML says keys are unique;
    PyYAML would silently keep the last one)."""


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    data = YMap()
    data.line = node.start_mark.line + 1
    data.lines = {}
    yield data
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # PyYAML reports unhashable keys itself below
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines.setdefault(key, key_node.start_mark.line + 1)


def _construct_seq(loader: _Loader, node: yaml.SequenceNode):
    data = YList()
    data.line = node.start_mark.line + 1
    data.lines = [n.start_mark.line + 1 for n in node.value]
    yield data
    data.extend(loader.construct_sequence(node, deep=True))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def parse_yaml(text: str, where: str):
    """Safe YAML (no tags that build objects) with errors that name the file and line;
    mappings and lists come back as YMap / YList carrying their line numbers."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        at_ = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{where}{at_}: YAML error: {getattr(e, 'problem', None) or e}") from None
    except RecursionError:
        raise ConfigError(f"{where}: YAML error: nested too deeply") from None


@lru_cache(maxsize=128)
def load_yaml(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    doc = parse_yaml(text, str(path))
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}:1: expected a YAML mapping")
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
