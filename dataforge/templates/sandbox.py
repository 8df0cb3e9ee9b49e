"""Jinja2 for templates that need logic, always inside a SandboxedEnvironment.

Template files are shared, so a template is untrusted code: the sandbox refuses attribute
access such as `''.__class__`, and every error names the file, the template and the line.
"""
from __future__ import annotations

from functools import lru_cache

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from dataforge import rulefiles
from dataforge.errors import ConfigError


@lru_cache(maxsize=1)
def env() -> SandboxedEnvironment:
    # rulefiles' one factory: sandboxed, a missing variable is an error
    return rulefiles.jinja_env(trim_blocks=True, lstrip_blocks=True)


def variables(src: str, where: str, line: int | None = None) -> set[str]:
    """Names a template reads (undeclared variables), or a ConfigError naming the line."""
    try:
        return meta.find_undeclared_variables(env().parse(src))
    except jinja2.TemplateSyntaxError as e:
        raise syntax_error(e, where, line) from None


def compile_(src: str, where: str, line: int | None = None) -> jinja2.Template:
    try:
        return env().from_string(src)
    except jinja2.TemplateSyntaxError as e:
        raise syntax_error(e, where, line) from None


def syntax_error(e: jinja2.TemplateSyntaxError, where: str, line: int | None) -> ConfigError:
    at = f" (file line {line + (e.lineno or 1) - 1})" if line else ""
    return ConfigError(f"{where}: template syntax error at template line {e.lineno}{at}: {e.message}")


def render_rows(tpl: jinja2.Template, rows: list[dict], where: str) -> list[str]:
    """Render per row; sandbox violations and undefined names become errors naming the template."""
    out = []
    for r in rows:
        try:
            out.append(tpl.render(r))
        except jinja2.exceptions.SecurityError as e:
            raise ConfigError(f"{where}: unsafe template refused by the sandbox: {e}") from None
        except jinja2.TemplateError as e:
            raise ConfigError(f"{where}: template error: {e}") from None
    return out
