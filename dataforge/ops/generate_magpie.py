"""Magpie (Xu et al., 2024): instructions from an aligned model given only its pre-query template."""
from __future__ import annotations

import polars as pl

from dataforge.generate import prompts, provenance, rows
from dataforge.ops.base import GlobalOp, param, register
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.schema import REJECT


@register
class Magpie(PromptFileOp, GlobalOp):
    """Add `count` instruction/response rows written by the model itself.

    The model sees only the chat template's text before a user message (`template`:
    llama3, qwen2, phi3, gemma; rules/prompts/magpie.yaml) and completes it with a user
    query; the query is then answered through the normal chat template. Empty, length-cut
    and duplicate queries, and failed answers, go to rejects. Input rows pass through.
    """

    name = "magpie"
    adds_rows = True
    outputs = ("instruction", "input", "output")
    count: int = 100
    template: str = "llama3"
    samples_per_request: int = 64  # the pre-query is one prompt: sampled n times per request
    respond: bool = True
    prompt_file: str = "magpie.yaml"
    sampling: dict[str, dict] = param(default_factory=dict)  # overrides: {instruction: {...}, response: {...}}
    llm: str | None = None

    def validate(self):
        from dataforge.errors import ConfigError

        if self.count < 1 or self.samples_per_request < 1:
            raise ConfigError("magpie: count and samples_per_request must be >= 1")
        prompts.check_sampling(self.name, self.sampling, ("instruction", "response"))

    def check_prompts(self) -> None:
        from dataforge.errors import ConfigError

        if self.template not in self.cfg["templates"]:
            raise ConfigError(f"magpie: unknown template '{self.template}'; known: {sorted(self.cfg['templates'])}")

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        tpl = self.cfg["templates"][self.template]
        queries: list[tuple[str, str | None, str | None, int]] = []  # (text, finish_reason, error, request)
        req_sampling = []
        left, req = self.count, 0
        while left > 0:
            n = min(left, self.samples_per_request)
            # a different seed per request: the same pre-query must not give the same samples
            sp = prompts.sampling({"sampling": self.cfg.get("instruction_sampling")}, self.sampling.get("instruction"),
                                  n=n, stop=tuple(tpl.get("stop", ())), seed=self.ctx.seed * 100_003 + req)
            req_sampling.append(sp)
            (r,) = self.model.generate([tpl["pre_query"]], sp)
            queries += [(c.text.strip(), c.finish_reason, None, req) for c in r.completions] if r.ok \
                else [("", None, r.error, req)] * n
            left -= n
            req += 1
        # answers use the engine's seed unless the step sets one (`sampling: {response: {seed: N}}`);
        # the record says so (seed null)
        sp_resp = prompts.sampling({"sampling": self.cfg.get("response_sampling")}, self.sampling.get("response"))
        steps = lambda req: {"instruction": req_sampling[req], **({"response": sp_resp} if self.respond else {})}  # noqa: E731
        recs, seen, ask = [], set(), []
        for text, finish, err, req in queries:
            meta = {"generator": "magpie", "template": self.template, **provenance.of(self.model, steps(req))}
            why = (f"llm_error: {err}" if err else
                   "empty_instruction: the model wrote no query" if not text else
                   "truncated: the query was cut by the length limit" if finish == "length" else
                   "duplicate_instruction: the same query was sampled before" if text in seen else None)
            seen.add(text)
            recs.append({"instruction": text, "source": "magpie", "task": "magpie", "meta": meta, REJECT: why})
            if why is None:
                ask.append(len(recs) - 1)
        if self.respond and ask:
            res = self.model.chat([[{"role": "user", "content": recs[i]["instruction"]}] for i in ask], sp_resp)
            for i, r in zip(ask, res):
                if not r.ok:
                    recs[i][REJECT] = f"llm_error: {r.error}"
                elif not r.completions[0].text.strip():
                    recs[i][REJECT] = "empty_response: the model returned nothing"
                elif r.completions[0].finish_reason == "length":
                    recs[i]["output"] = r.completions[0].text.strip()
                    recs[i][REJECT] = "truncated_response: cut by the length limit"
                else:
                    recs[i]["output"] = r.completions[0].text.strip()
        return rows.concat([lf.collect(), rows.make_rows(recs)])
