"""Prompt files for the generation operators: found under rules/prompts, rendered in a sandbox."""
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


class PromptFileOp:
    """Mixin for operators driven by a prompt file and an LLM (`prompt_file`, `llm` fields).

    The prompt file's content is part of the checkpoint key (edit it and the stage reruns);
    `setup()` loads the file, lets the operator check it, then gets the operator's cached LLM.
    """

    def prompt_files(self) -> list[str]:
        """Every rules file the operator reads; all of them key its checkpoint."""
        return [self.prompt_file]

    def fingerprint_extra(self):
        return {"prompts": [digest(p) for p in self.prompt_files()]}

    def check_prompts(self) -> None:
        """Raise ConfigError when `self.cfg` lacks what the operator's parameters name."""

    def setup(self) -> None:
        from dataforge.llm.for_op import llm_for

        self.cfg = load(self.prompt_file)
        self.check_prompts()
        self.model = llm_for(self)
