"""Dataset -> instruction templates: the files in rules/templates/ and how they render.

spec       load and validate a family file (<family>.yaml): fields, verbalizers, templates
sandbox    Jinja2 in a SandboxedEnvironment, errors that name file, template and line
plain      `{{ field }}`-only templates compiled to Polars string expressions (the fast path)
fields     raw columns -> template variables (lists joined, answers picked, labels verbalised)
render     one template piece over a frame of variables (plain or Jinja)
prompts    prompt types and modifiers (few-shot, chain-of-thought, options, formats, system)
draw       deterministic per-row randomness from seed + row id
"""
from dataforge.templates.spec import Family, FieldSpec, Template, family_names, load_family

__all__ = ["Family", "FieldSpec", "Template", "family_names", "load_family"]
