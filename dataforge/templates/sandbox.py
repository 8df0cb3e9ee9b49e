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
        refuse_unsafe(env().parse(src), where, line)
        return env().from_string(src)
    except jinja2.TemplateSyntaxError as e:
        raise syntax_error(e, where, line) from None


def refuse_unsafe(ast, where: str, line: int | None = None) -> None:
    """Refuse at load time what the sandbox would refuse (or crash on) at render time:
    include/import/extends (templates are self-contained; there is no loader) and access to
    underscore attributes such as `__mro__`. Names the file line when it is known."""
    from jinja2 import nodes

    def loc(node) -> str:
        at = f" (file line {line + node.lineno - 1})" if line else ""
        return f"{where}: template line {node.lineno}{at}"

    for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise ConfigError(f"{loc(node)}: `{type(node).__name__.lower()}` is not allowed: a template "
                          "cannot load other templates")
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else (
            node.arg.value if isinstance(node.arg, nodes.Const) else None)
        if isinstance(name, str) and name.startswith("_"):
            raise ConfigError(f"{loc(node)}: unsafe template refused by the sandbox: access to "
                              f"attribute '{name}'")


def template_line(tb) -> int | None:
    """The template line where a render error happened, from the traceback Jinja rewrites."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


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
            raise ConfigError(f"{where}{_at(e)}: unsafe template refused by the sandbox: {e}") from None
        except jinja2.TemplateError as e:
            raise ConfigError(f"{where}{_at(e)}: template error: {e}") from None
        except RecursionError as e:
            raise ConfigError(f"{where}{_at(e)}: template recursion too deep") from None
        except (OverflowError, TypeError, ValueError, ArithmeticError, MemoryError) as e:
            raise ConfigError(f"{where}{_at(e)}: template failed: {type(e).__name__}: {e}") from None
    return out


def _at(e: BaseException) -> str:
    line = template_line(e.__traceback__)
    return f" (template line {line})" if line else ""
