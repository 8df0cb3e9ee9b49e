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
    """The prompt file, every template in it checked for what the sandbox refuses (file:line)."""
    f = find(path)
    doc = rulefiles.load_yaml(f)
    check_templates(doc, str(f))
    return doc


def check_templates(node, where: str, line: int | None = None) -> None:
    import jinja2

    from dataforge.templates.sandbox import refuse_unsafe

    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        vline = rulefiles.line_of(node, k) or line
        if isinstance(v, str) and ("{{" in v or "{%" in v):
            try:
                ast = rulefiles.sandbox(True).parse(v)
            except jinja2.TemplateSyntaxError as e:
                raise ConfigError(f"{where}:{(vline or 1) + (e.lineno or 1) - 1}: template syntax error in "
                                  f"`{k}`: {e.message}") from None
            refuse_unsafe(ast, f"{where}:{vline}: `{k}`" if vline else f"{where}: `{k}`", vline)
        elif isinstance(v, (dict, list)):
            check_templates(v, where, vline)


def digest(path: str) -> str:
    """Content hash for operator fingerprints: editing a prompt reruns the stage."""
    return rulefiles.digest(find(path))


def section(doc: dict, key: str, where: str) -> dict:
    if key not in doc or not isinstance(doc[key], dict):
        raise ConfigError(f"{where}: prompt file lacks the `{key}` section")
    return doc[key]


def render(text: str, **values) -> str:
    """Render a prompt template (sandboxed Jinja; a missing variable is an error)."""
    import jinja2

    try:
        return rulefiles.template(text, True).render(**values)
    except jinja2.exceptions.SecurityError as e:
        raise ConfigError(f"prompt template refused by the sandbox: {e}") from None
    except jinja2.TemplateError as e:
        raise ConfigError(f"prompt template error: {e}") from None
    except RecursionError:
        raise ConfigError("prompt template recursion too deep") from None
    except (OverflowError, TypeError, ValueError, ArithmeticError) as e:
        raise ConfigError(f"prompt template failed: {type(e).__name__}: {e}") from None


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


def sampling_keys() -> list[str]:
    import dataclasses

    from dataforge.llm.base import Sampling

    return [f.name for f in dataclasses.fields(Sampling)]


def check_sampling(op: str, sampling: dict, steps: tuple[str, ...] | None = None) -> None:
    """Refuse misspelt sampling settings instead of ignoring them: `steps` names the operator's
    steps (`sampling: {STEP: {KEY: value}}`), None means one flat `{KEY: value}` mapping.
    The recipe loader prefixes the error with the file and step."""
    keys = sampling_keys()

    def flat(d, where: str) -> None:
        if not isinstance(d, dict):
            raise ConfigError(f"operator '{op}': {where} must be a mapping of sampling settings, got {d!r}")
        bad = [k for k in d if k not in keys]
        if bad:
            raise ConfigError(f"operator '{op}': unknown sampling key(s) {bad} in {where}; valid: {keys}")

    if steps is None:
        flat(sampling, "`sampling`")
        return
    bad = [k for k in sampling if k not in steps]
    if bad:
        raise ConfigError(f"operator '{op}': unknown sampling step(s) {bad} in `sampling`; valid steps: "
                          f"{list(steps)}, each a mapping of {keys}")
    for step, d in sampling.items():
        flat(d, f"`sampling.{step}`")

