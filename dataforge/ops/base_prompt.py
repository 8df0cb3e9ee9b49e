"""PromptFileOp: the one convention of every LLM-driven operator (generation, augmentation, judges).

The operator declares two fields, `prompt_file` (a YAML file of prompts) and `llm` (a
backend spec; None: the run's --llm). A bare `prompt_file` name is looked up in
rules/prompts/ first; a path with folders is taken as given, then under rules/. The file's
content is part of the checkpoint key (edit it and the stage reruns); `setup()` loads the
file into `self.cfg`, lets the operator check it (`check_prompts`), then gets the
operator's cached LLM as `self.model`. Prompts render through `generate.prompts.render`
(rulefiles' sandbox, undefined names are errors).
"""
from __future__ import annotations

from dataforge.generate import prompts


class PromptFileOp:
    """Mixin for operators driven by a prompt file and an LLM (`prompt_file`, `llm` fields)."""

    def prompt_path(self) -> str:
        """The prompt file this operator reads (judges derive a default from their aspect)."""
        return self.prompt_file

    def prompt_files(self) -> list[str]:
        """Every rules file the operator reads; all of them key its checkpoint."""
        return [self.prompt_path()]

    def fingerprint_extra(self):
        return {"prompts": [prompts.digest(p) for p in self.prompt_files()]}

    def check_prompts(self) -> None:
        """Raise ConfigError when `self.cfg` lacks what the operator's parameters name."""

    def load_prompts(self) -> None:
        self.cfg = prompts.load(self.prompt_path())
        self.check_prompts()

    def setup(self) -> None:
        from dataforge.llm.for_op import llm_for

        self.load_prompts()
        self.model = llm_for(self)
