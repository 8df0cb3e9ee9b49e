"""PromptFileOp: the one convention of every LLM-driven operator (generation, augmentation, judges).

The operator declares two fields, `prompt_file` (a YAML file of prompts) and `llm` (a
backend spec; None: the run's --llm). A bare `prompt_file` name is looked up in
rules/prompts/ first; a path with folders is taken as given, then under rules/. The file's
content is part of the checkpoint key (edit it and the stage reruns); `setup()` loads the
file into `self.cfg`, lets the operator check it (`check_prompts`), then gets the
operator's cached LLM as `self.model`. Prompts render through `generate.prompts.render`
(rulefiles' sandbox, undefined names are errors).

A prompt file written by `dataforge prompt-search` for a generator carries
`ensemble: {how: weighted_mixture, entry, members: [{name, weight, user|prompt, system}]}`.
`prompt_variants(keys)` then draws one member per row, deterministically from (seed, key)
with probability = weight (dataforge.rand), and gives the prompt file as that member would
have it (its text in place of the entry's) plus the member's name for the row's `meta`.
Without such a block every row gets `self.cfg` and no name: outputs are exactly as before.
"""
from __future__ import annotations

import copy

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
        self.mixture()  # a broken mixture fails when the recipe loads, not mid-run

    def setup(self) -> None:
        from dataforge.llm.for_op import llm_for

        self.load_prompts()
        self.model = llm_for(self)

    # -- weighted prompt mixtures (generators) ---------------------------------------------
    def mixture(self) -> list[tuple[dict, dict, float]] | None:
        """[(prompt file as the member has it, its meta record, weight)], or None without a mixture."""
        if getattr(self, "_mixture_of", None) is self.cfg:
            return self._mixture
        self._mixture_of, self._mixture = self.cfg, None
        ens = self.cfg.get("ensemble") if isinstance(self.cfg, dict) else None
        if isinstance(ens, dict) and ens.get("how") == "weighted_mixture":
            self._mixture = _variants(self.cfg, ens, self.prompt_path())
        return self._mixture

    def prompt_variants(self, keys: list[str], seed: int | None = None,
                        purpose: str = "prompt_variant") -> tuple[list[dict], list[dict | None]]:
        """Per key (a row id, or what identifies a request): the prompt file to render it with
        and the variant's meta record ({name, search}), None without a mixture."""
        mix = self.mixture()
        if not mix:
            return [self.cfg] * len(keys), [None] * len(keys)
        from dataforge import rand

        s = seed if seed is not None else getattr(self, "run_seed", None)
        s = s if s is not None else self.ctx.seed
        pick = rand.choose(rand.base([str(k) for k in keys], s), purpose, [w for _, _, w in mix])
        return [mix[i][0] for i in pick], [mix[i][1] for i in pick]


def _variants(cfg: dict, ens: dict, where: str) -> list[tuple[dict, dict, float]]:
    from dataforge.errors import ConfigError
    from dataforge.promptsearch.target import locate

    members = ens.get("members")
    if not isinstance(members, list) or not members:
        raise ConfigError(f"{where}: `ensemble.members` must be a non-empty list")
    entry = str(ens.get("entry") or "")
    search = (ens.get("search") or {}).get("search_id")
    base = {k: v for k, v in cfg.items() if k != "ensemble"}
    key_of = locate(base, entry, where)
    text_key = "user" if "user" in key_of else "prompt"
    out = []
    for i, m in enumerate(members):
        text = m.get(text_key) if isinstance(m, dict) else None
        w = m.get("weight") if isinstance(m, dict) else None
        if not isinstance(text, str) or not isinstance(w, (int, float)) or w < 0:
            raise ConfigError(f"{where}: ensemble member {i + 1} needs `{text_key}` text and a weight >= 0")
        doc = copy.deepcopy(base)
        node = locate(doc, entry, where)
        node[text_key] = text
        if m.get("system"):
            node["system"] = m["system"]
        else:
            node.pop("system", None)
        prompts.check_templates(node, where)
        out.append((doc, {"name": m.get("name") or f"member{i + 1}", "search": search}, float(w)))
    if sum(w for _, _, w in out) <= 0:
        raise ConfigError(f"{where}: ensemble weights sum to 0")
    return out
